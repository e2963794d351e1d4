// A peer for npm run bench: @node-oauth/oauth2-server issuing access tokens with the client credentials
// grant (RFC 6749 §4.4) at POST /token, behind a plain node:https handler that does what a framework
// adapter would: parse the form body, hand the library its Request, write its Response as JSON.
//
// The model is the smallest in-memory one the grant needs: one client (BENCH_CLIENT_ID,
// BENCH_CLIENT_SECRET) allowed that grant alone, the client itself as the token's user, and every token
// kept in a Map, as a store would keep it. Everything else keeps the library's defaults (32 random bytes as
// hex for a token, one hour of life).
import { timingSafeEqual } from 'node:crypto';
import OAuth2Server from '@node-oauth/oauth2-server';
import { serveHttps } from '../processes.js';

const client = { id: process.env.BENCH_CLIENT_ID, grants: ['client_credentials'] };
const secret = Buffer.from(process.env.BENCH_CLIENT_SECRET);
const tokens = new Map();

const model = {
  async getClient(clientId, clientSecret) {
    const given = Buffer.from(clientSecret ?? '');
    const matches = given.length === secret.length && timingSafeEqual(given, secret);
    return clientId === client.id && matches ? client : false;
  },
  async getUserFromClient(owner) {
    return { id: owner.id };
  },
  async saveToken(token, owner, user) {
    const saved = { ...token, client: owner, user };
    tokens.set(token.accessToken, saved);
    return saved;
  },
};

const oauth = new OAuth2Server({ model });

serveHttps((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.once('end', async () => {
    const request = new OAuth2Server.Request({
      method: req.method,
      headers: req.headers,
      query: Object.fromEntries(new URL(req.url, 'https://127.0.0.1').searchParams),
      body: Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))),
    });
    const response = new OAuth2Server.Response();
    try {
      await oauth.token(request, response);
    } catch {
      // The library has written the error answer (status, headers, body) into `response`.
    }
    const body = JSON.stringify(response.body);
    res.writeHead(response.status, {
      ...response.headers,
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  });
});
