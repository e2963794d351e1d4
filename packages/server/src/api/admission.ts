import { scopeAllowsMethod, scopeString } from '../domain/scope.js';
import { PortcullisError, type ResponseHeaders } from '../errors.js';
import { bearerChallenge } from '../oauth/challenges.js';
import type { Services } from '../services.js';
import type { Exchange } from '../wire/exchange.js';
import { type AuthenticationServices, authenticateRequest, type Principal } from './authenticate-request.js';

/** What admission uses: authentication, key usage and the client's API call limits. */
export type AdmissionServices = AuthenticationServices & Pick<Services, 'keyUsage' | 'limits'>;

/** What an admitted API call carries on to its route. */
export interface Admission {
  readonly principal: Principal;
  /** `X-RateLimit-*` for the call just counted, stated on the answer whatever it is; none when unlimited. */
  readonly limitHeaders: ResponseHeaders | undefined;
}

const INSUFFICIENT_SCOPE_CHALLENGE = `${bearerChallenge({
  code: 'insufficient_scope',
  description: 'This call needs the write scope',
})}, scope="write"`;

/**
 * Admission of a call to `/v2.01/{ClientId}/…`, every API route's first steps, in this order:
 * authenticate → ClientId matches the path → scope allows the method → record key use → count limits.
 * A route that hands the call on states who made it with `identityHeaders` (the last step). `method` is
 * the request's own, or the original request's that forward-auth is asked about.
 */
export async function admitApiCall(
  services: AdmissionServices,
  exchange: Exchange,
  pathClientId: string,
  method: string | undefined = exchange.req.method,
): Promise<Admission> {
  const principal = await authenticateRequest(services, exchange);
  exchange.caller = {
    method: principal.method,
    clientId: principal.client.clientId,
    keyId: principal.key.keyId,
  };
  requirePathClientId(principal, pathClientId);
  requireScopeForMethod(principal, method);
  services.keyUsage.touch(principal.key.keyId, exchange.now);
  const limitHeaders = await services.limits.countApiCall(principal.client, exchange.now);
  return { principal, limitHeaders };
}

/** MANGOPAY's URLs name the client: a client reaches its own, never another's. */
function requirePathClientId(principal: Principal, pathClientId: string): void {
  // The segment has no escapes when it equals a ClientId ([A-Za-z0-9_-]), so decoded it is the same.
  if (principal.client.clientId === pathClientId) return;
  throw new PortcullisError('forbidden', {
    detail: `client ${principal.client.clientId} asked for another path`,
  });
}

function requireScopeForMethod(principal: Principal, method: string | undefined): void {
  if (scopeAllowsMethod(principal.scope, method)) return;
  throw new PortcullisError('insufficient_scope', {
    detail: `${principal.scope} scope, ${method} request`,
    // RFC 6750 §3.1: a Bearer caller learns which scope it lacks.
    ...(principal.method === 'bearer' && { headers: { 'WWW-Authenticate': INSUFFICIENT_SCOPE_CHALLENGE } }),
  });
}

/**
 * Who made the call, as the next hop reads it (`[name, value, …]`): the upstream behind the gateway, and
 * the reverse proxy asking forward-auth. Set by Portcullis alone; callers' own copies never pass.
 */
export function identityHeaders(principal: Principal): string[] {
  return [
    'X-Client-Id',
    principal.client.clientId,
    'X-Api-Key-Id',
    principal.key.keyId,
    'X-Auth-Method',
    principal.method,
    'X-Auth-Scope',
    scopeString(principal.scope),
  ];
}
