// Steps shared by the token, revocation and introspection endpoints (all POST, Basic-authenticated).
import type { IncomingMessage } from 'node:http';
import type { ApiKeyRecord, ClientRecord } from '../domain/records.js';
import { PortcullisError } from '../errors.js';
import type { Services } from '../services.js';
import type { Exchange } from '../wire/exchange.js';
import { singleHeader } from '../wire/request.js';
import { authenticateBasic, basicRejection } from './basic-authentication.js';
import { authorizationScheme } from './bearer-token.js';
import { basicChallenge } from './challenges.js';
import { readTokenParameters, type TokenParameters } from './token-request.js';

/** RFC 6749 §5.1 and §5.2: OAuth answers, tokens or errors, are never cached. */
export const NO_STORE = Object.freeze({ 'Cache-Control': 'no-store', Pragma: 'no-cache' });

/** The first steps of every OAuth endpoint: POST, nothing in the URL, form parameters, Basic credentials. */
export async function readOAuthRequest({
  req,
  query,
}: Exchange): Promise<{ readonly parameters: TokenParameters; readonly authorization: string }> {
  requirePost(req);
  rejectUrlParameters(query);
  const parameters = await readTokenParameters(req);
  return { parameters, authorization: basicAuthorization(req, parameters) };
}

function requirePost(req: IncomingMessage): void {
  if (req.method === 'POST') return;
  throw new PortcullisError('method_not_allowed', {
    message: 'This endpoint only accepts POST.',
    headers: { Allow: 'POST' },
  });
}

/** RFC 6749 §2.3.1 and §3.2: credentials and parameters never travel in the URL. */
function rejectUrlParameters(query: string): void {
  if (query === '') return;
  throw new PortcullisError('invalid_request', {
    message: 'Parameters and credentials must be sent in the request body and headers, not in the URL.',
  });
}

/** RFC 6749 §2.3: one authentication method per request, and here that method is HTTP Basic. */
function basicAuthorization(req: IncomingMessage, parameters: TokenParameters): string {
  const authorization = singleHeader(req, 'authorization');
  const bodySecret = parameters.has('client_secret');
  if (authorization === undefined) {
    throw new PortcullisError('invalid_client', {
      message: bodySecret
        ? 'Send the ClientId and API key with HTTP Basic authentication, not in the request body.'
        : 'Client authentication is required: send the ClientId and API key with HTTP Basic authentication.',
      headers: { 'WWW-Authenticate': basicChallenge },
    });
  }
  if (bodySecret) {
    throw new PortcullisError('invalid_request', {
      message: 'Client credentials must be sent one way only: use HTTP Basic authentication.',
    });
  }
  if (authorizationScheme(authorization) !== 'basic') {
    throw new PortcullisError('invalid_client', {
      detail: 'authorization scheme is not Basic',
      headers: { 'WWW-Authenticate': basicChallenge },
    });
  }
  return authorization;
}

/** The client, authenticated by its ClientId and API key; RFC 6749 §5.2 `invalid_client` otherwise. */
export async function authenticateClient(
  services: Pick<Services, 'apiKeys' | 'failedAuthentications' | 'options'>,
  authorization: string,
  exchange: Exchange,
): Promise<{ client: ClientRecord; key: ApiKeyRecord }> {
  const { req, clientAddress, now } = exchange;
  const result = await authenticateBasic(services, authorization, req.socket, clientAddress, now);
  if (result.ok) {
    exchange.caller = { method: 'basic', clientId: result.client.clientId, keyId: result.key.keyId };
    return result;
  }
  throw basicRejection('invalid_client', result, services.options.environment);
}

/** RFC 7009 §2.1 and RFC 7662 §2.1: the token to act on, in the `token` parameter. */
export function requiredTokenParameter(parameters: TokenParameters): string {
  const token = parameters.get('token');
  if (token !== undefined) return token;
  throw new PortcullisError('invalid_request', { message: 'The token parameter is required.' });
}
