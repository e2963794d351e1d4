// The baseline for npm run bench: a bare node:https server with the same certificate as the server under
// test. It reads the request body, as any server must, then sends back the answer that Portcullis gave to
// the same method and path, as fixed bytes: status, headers in their order, body (BENCH_ANSWERS, a JSON
// object keyed "METHOD /path"). Node adds Date, Connection and Keep-Alive here as it does for Portcullis.
import { readFileSync } from 'node:fs';
import https from 'node:https';

const answers = new Map(
  Object.entries(JSON.parse(process.env.BENCH_ANSWERS ?? '{}')).map(
    ([request, { status, headers, body }]) => [request, { status, headers: headers.flat(), body }],
  ),
);
const notFound = { status: 404, headers: ['content-length', '0'], body: '' };

const server = https.createServer(
  { cert: readFileSync(process.env.BENCH_CERT), key: readFileSync(process.env.BENCH_KEY) },
  (req, res) => {
    req.resume();
    req.once('end', () => {
      const answer = answers.get(`${req.method} ${req.url}`) ?? notFound;
      res.writeHead(answer.status, answer.headers);
      res.end(answer.body);
    });
  },
);
server.listen(0, '127.0.0.1', () => console.log(`listening on https://127.0.0.1:${server.address().port}`));
process.on('SIGTERM', () => process.exit(0));
