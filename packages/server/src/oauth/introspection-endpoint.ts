import type { IntrospectorRecord } from '../domain/records.js';
import { scopeString } from '../domain/scope.js';
import { PortcullisError } from '../errors.js';
import type { Services } from '../services.js';
import type { Exchange } from '../wire/exchange.js';
import { sendJsonText } from '../wire/respond.js';
import { claimedClientId, parseBasicAuthorization } from './basic-credentials.js';
import { basicChallenge } from './challenges.js';
import { NO_STORE, readOAuthRequest, requiredTokenParameter } from './endpoint-steps.js';
import { checkUnderFailureLimits } from './failure-limits.js';

const INACTIVE = '{"active":false}';

/**
 * `POST /v2.01/oauth/introspect` (RFC 7662): tells a resource server whether a token is active now, and
 * for whom. Only introspection credentials may ask (§2.1, and §4: otherwise the endpoint would let anyone
 * probe tokens); anyone else gets 401. An inactive token gets `{"active":false}` and nothing more (§2.2).
 */
export async function handleIntrospectionRequest(
  services: Pick<Services, 'apiKeys' | 'failedAuthentications' | 'introspectors' | 'tokens'>,
  exchange: Exchange,
): Promise<void> {
  const { res, now } = exchange;
  const { parameters, authorization } = await readOAuthRequest(exchange);
  const token = requiredTokenParameter(parameters);
  await authenticateIntrospector(services, authorization, exchange);
  const claims = services.tokens.open(token);
  const result = claims === undefined ? undefined : await services.tokens.check(claims, now);
  if (!result?.ok) {
    sendJsonText(res, 200, INACTIVE, NO_STORE);
    return;
  }
  const body = {
    active: true,
    client_id: result.claims.clientId,
    scope: scopeString(result.claims.scope),
    token_type: 'Bearer',
    exp: Math.floor(result.claims.expiresAt / 1000),
    iat: Math.floor(result.claims.issuedAt / 1000),
  };
  sendJsonText(res, 200, JSON.stringify(body), NO_STORE);
}

async function authenticateIntrospector(
  {
    apiKeys,
    failedAuthentications,
    introspectors,
  }: Pick<Services, 'apiKeys' | 'failedAuthentications' | 'introspectors'>,
  authorization: string,
  exchange: Exchange,
): Promise<void> {
  const { clientAddress, now } = exchange;
  const result = await checkUnderFailureLimits<{
    readonly ok: true;
    readonly introspector: IntrospectorRecord;
  }>(
    failedAuthentications,
    clientAddress,
    now,
    () => claimedClientId(authorization),
    async () => {
      const parsed = parseBasicAuthorization(authorization);
      if (!parsed.ok) return parsed;
      const { clientId: name, secret } = parsed.credentials;
      const hashed = apiKeys.hash(secret);
      const introspector = hashed.ok ? await introspectors.find(name, hashed, now) : undefined;
      return introspector === undefined
        ? { ok: false, reason: 'not an introspector', clientId: name }
        : { ok: true, introspector };
    },
  );
  if (result.ok) {
    exchange.caller = { method: 'basic', introspector: result.introspector.name };
    return;
  }
  throw new PortcullisError('invalid_client', {
    message: 'Only introspection credentials may use this endpoint.',
    detail: 'introspection refused: not an introspector',
    headers: { 'WWW-Authenticate': basicChallenge },
  });
}
