// The baseline for npm run bench: a bare node:https server answering a fixed body (BENCH_BODY), with the
// same certificate as the Portcullis server under test.
import { readFileSync } from 'node:fs';
import https from 'node:https';

const body = process.env.BENCH_BODY ?? '{"hello":"world"}';
const server = https.createServer(
  { cert: readFileSync(process.env.BENCH_CERT), key: readFileSync(process.env.BENCH_KEY) },
  (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  },
);
server.listen(0, '127.0.0.1', () => console.log(`listening on https://127.0.0.1:${server.address().port}`));
process.on('SIGTERM', () => process.exit(0));
