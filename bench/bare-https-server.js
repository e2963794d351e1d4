// The baseline for npm run bench: a bare node:https server with the same certificate as the server under
// test. It reads the request body, as any server must, then sends back the answer that the server under
// test gave to the same method and path, as fixed bytes: status, headers in their order, body
// (BENCH_ANSWERS, a JSON object keyed "METHOD /path"). Node adds Date, Connection and Keep-Alive here as it
// does for Portcullis.
import { serveHttps } from './processes.js';

const answers = new Map(
  Object.entries(JSON.parse(process.env.BENCH_ANSWERS ?? '{}')).map(
    ([request, { status, headers, body }]) => [request, { status, headers: headers.flat(), body }],
  ),
);
const notFound = { status: 404, headers: ['content-length', '0'], body: '' };

serveHttps((req, res) => {
  req.resume();
  req.once('end', () => {
    const answer = answers.get(`${req.method} ${req.url}`) ?? notFound;
    res.writeHead(answer.status, answer.headers);
    res.end(answer.body);
  });
});
