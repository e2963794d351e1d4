import type {
  AdminRecord,
  ApiKeyRecord,
  AuditEvent,
  ClientRecord,
  IntrospectorRecord,
} from '../domain/records.js';

/** What the CLI and the admin API show of a client and a key: never a key or its hash. */
export function clientSummary(client: ClientRecord) {
  return {
    clientId: client.clientId,
    name: client.name,
    status: client.status,
    tokenTtlSeconds: client.tokenTtlSeconds,
    rateLimits: client.rateLimits,
    createdAt: new Date(client.createdAt).toISOString(),
  };
}

export function introspectorSummary(introspector: IntrospectorRecord) {
  return {
    clientId: introspector.name,
    status: introspector.revokedAt === null ? 'active' : 'revoked',
    createdAt: iso(introspector.createdAt),
    revokedAt: iso(introspector.revokedAt),
  };
}

/** What the CLI shows of an admin: never its token or the token's hash. */
export function adminSummary(admin: AdminRecord) {
  return {
    name: admin.name,
    role: admin.role,
    status: admin.revokedAt === null ? 'active' : 'revoked',
    createdAt: iso(admin.createdAt),
    revokedAt: iso(admin.revokedAt),
  };
}

export function auditSummary(event: AuditEvent) {
  return { ...event, at: new Date(event.at).toISOString() };
}

function iso(epochMs: number | null): string | null {
  return epochMs === null ? null : new Date(epochMs).toISOString();
}

function keyStatus(key: ApiKeyRecord, now: number): 'active' | 'revoked' | 'expired' {
  if (key.revokedAt !== null) return 'revoked';
  if (key.expiresAt !== null && key.expiresAt <= now) return 'expired';
  return 'active';
}

export function keySummary(key: ApiKeyRecord, now: number) {
  return {
    keyId: key.keyId,
    alias: key.alias,
    scope: key.scope,
    status: keyStatus(key, now),
    exposed: key.exposedAt !== null,
    environment: key.environment,
    createdAt: iso(key.createdAt),
    expiresAt: iso(key.expiresAt),
    revokedAt: iso(key.revokedAt),
    lastUsedAt: iso(key.lastUsedAt),
    exposedAt: iso(key.exposedAt),
    replacedBy: key.replacedBy,
  };
}
