import type { ApiKeyRecord, ClientRecord } from '../store/records.js';

/** What the CLI shows of a client and a key: never a key or its hash. */
export function clientSummary(client: ClientRecord) {
  return {
    clientId: client.clientId,
    name: client.name,
    status: client.status,
    tokenTtlSeconds: client.tokenTtlSeconds,
    createdAt: new Date(client.createdAt).toISOString(),
  };
}

function keyStatus(key: ApiKeyRecord, now: number): 'active' | 'revoked' | 'expired' {
  if (key.revokedAt !== null) return 'revoked';
  if (key.expiresAt !== null && key.expiresAt <= now) return 'expired';
  return 'active';
}

export function keySummary(key: ApiKeyRecord, now: number) {
  const iso = (epochMs: number | null) => (epochMs === null ? null : new Date(epochMs).toISOString());
  return {
    keyId: key.keyId,
    alias: key.alias,
    status: keyStatus(key, now),
    environment: key.environment,
    createdAt: iso(key.createdAt),
    expiresAt: iso(key.expiresAt),
    revokedAt: iso(key.revokedAt),
    lastUsedAt: iso(key.lastUsedAt),
  };
}
