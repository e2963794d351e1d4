// The baseline for npm run bench: a bare node:https server with the same certificate as the server under
// test. It reads the request body, as any server must, then answers what Portcullis answers the same
// request, as fixed bytes: BENCH_GET_BODY and BENCH_GET_HEADERS for GET, BENCH_POST_BODY for POST.
import { readFileSync } from 'node:fs';
import https from 'node:https';

const bodies = { GET: process.env.BENCH_GET_BODY ?? '{}', POST: process.env.BENCH_POST_BODY ?? '{}' };
const extraHeaders = { GET: JSON.parse(process.env.BENCH_GET_HEADERS ?? '{}'), POST: {} };
const server = https.createServer(
  { cert: readFileSync(process.env.BENCH_CERT), key: readFileSync(process.env.BENCH_KEY) },
  (req, res) => {
    req.resume();
    req.once('end', () => {
      const body = bodies[req.method] ?? bodies.GET;
      res.writeHead(200, {
        ...(extraHeaders[req.method] ?? {}),
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
      });
      res.end(body);
    });
  },
);
server.listen(0, '127.0.0.1', () => console.log(`listening on https://127.0.0.1:${server.address().port}`));
process.on('SIGTERM', () => process.exit(0));
