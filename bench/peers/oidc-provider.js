// A peer for npm run bench: panva's oidc-provider issuing access tokens with the client credentials grant
// (RFC 6749 §4.4) at POST /token. Configured only as far as that takes: the grant enabled, and one client
// (BENCH_CLIENT_ID, BENCH_CLIENT_SECRET) allowed that grant alone and authenticating with
// client_secret_basic (RFC 6749 §2.3.1). Everything else keeps its defaults: the in-memory adapter, opaque
// access tokens, the development signing keys (it warns about those at start), resource indicators.
import Provider from 'oidc-provider';
import { serveHttps } from '../processes.js';

const provider = new Provider('https://127.0.0.1', {
  clients: [
    {
      client_id: process.env.BENCH_CLIENT_ID,
      client_secret: process.env.BENCH_CLIENT_SECRET,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  features: { clientCredentials: { enabled: true } },
});

serveHttps(provider.callback());
