import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { PortcullisError } from '../errors.js';
import { singleHeader } from '../http/request.js';
import { sendJsonText } from '../http/respond.js';
import { countTokenIssued } from '../limits/enforce.js';
import type { Services } from '../services.js';
import type { ApiKeyRecord, ClientRecord } from '../store/records.js';
import { authenticateBasic, basicRejection } from './basic-authentication.js';
import { authorizationScheme } from './bearer-token.js';
import { basicChallenge } from './challenges.js';
import { readTokenParameters, type TokenParameters } from './token-request.js';

export const TOKEN_PATHS = new Set(['/v2.01/oauth/token', '/v2.01/oauth/token/']);
const NO_STORE = Object.freeze({ 'Cache-Control': 'no-store', Pragma: 'no-cache' });

/**
 * `POST /v2.01/oauth/token`: the client credentials grant (RFC 6749 §4.4) with client_secret_basic
 * authentication (§2.3.1), answered as §5.1 on success and §5.2 on error.
 */
export async function handleTokenRequest(
  services: Services,
  req: IncomingMessage,
  res: ServerResponse,
  query: string,
  now: number,
): Promise<void> {
  requirePost(req);
  rejectUrlParameters(query);
  const parameters = await readTokenParameters(req);
  const authorization = basicAuthorization(req, parameters);
  const grantType = requiredGrantType(parameters);
  const { client, key } = await authenticateClient(services, authorization, req.socket, now);
  requireMatchingClientId(parameters, client);
  requireClientCredentialsGrant(grantType);
  countTokenIssued(services.tokenIssuance, client.clientId, now);
  const lifetime = client.tokenTtlSeconds ?? services.options.tokenTtlSeconds;
  const issued = services.tokens.issue(key, lifetime, now);
  services.keyUsage.touch(key.keyId, now);
  // RFC 6749 §5.1: exactly these members, and no caching of the response. Written without
  // JSON.stringify: the token is base64url and the lifetime an integer, so neither needs escaping.
  sendJsonText(
    res,
    200,
    `{"access_token":"${issued.accessToken}","token_type":"Bearer","expires_in":${issued.expiresIn}}`,
    NO_STORE,
  );
}

function requirePost(req: IncomingMessage): void {
  if (req.method === 'POST') return;
  throw new PortcullisError('method_not_allowed', {
    message: 'The token endpoint only accepts POST.',
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

function requiredGrantType(parameters: TokenParameters): string {
  const grantType = parameters.get('grant_type');
  if (grantType !== undefined) return grantType;
  throw new PortcullisError('invalid_request', { message: 'The grant_type parameter is required.' });
}

async function authenticateClient(
  services: Services,
  authorization: string,
  connection: Socket,
  now: number,
): Promise<{ client: ClientRecord; key: ApiKeyRecord }> {
  const result = await authenticateBasic(services, authorization, connection, now);
  if (result.ok) return result;
  throw basicRejection('invalid_client', result, services.options.environment);
}

/** A client_id parameter is not needed with Basic; when sent, it must name the authenticated client. */
function requireMatchingClientId(parameters: TokenParameters, client: ClientRecord): void {
  const bodyClientId = parameters.get('client_id');
  if (bodyClientId === undefined || bodyClientId === client.clientId) return;
  throw new PortcullisError('invalid_request', {
    message: 'The client_id parameter does not match the authenticated client.',
  });
}

function requireClientCredentialsGrant(grantType: string): void {
  if (grantType === 'client_credentials') return;
  throw new PortcullisError('unsupported_grant_type');
}
