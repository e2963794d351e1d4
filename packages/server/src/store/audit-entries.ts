import {
  type AdminRole,
  type ApiKeyRecord,
  type AuditEvent,
  type AuditEventType,
  type ClientChanges,
  type ClientStatus,
  type RevokedToken,
  tokenFingerprint,
} from '../domain/records.js';

/**
 * The audit entry of each change a store makes, defined once for every store implementation. Entries
 * of a client's changes carry its ClientId: the store also records a change-feed row for it.
 */
export type ClientChangeEntry = AuditEvent & { readonly clientId: string };

export function clientCreated(clientId: string, at: number): ClientChangeEntry {
  return entry(at, 'client.created', clientId, null);
}

/** A status change is `client.enabled` or `client.disabled`; the other fields changed are in `changed`. */
export function clientUpdated(
  clientId: string,
  before: ClientStatus,
  after: ClientStatus,
  fields: ClientChanges,
  at: number,
): ClientChangeEntry {
  const type =
    before === after ? 'client.updated' : after === 'active' ? 'client.enabled' : 'client.disabled';
  return entry(at, type, clientId, null, Object.keys(fields).length === 0 ? null : { changed: fields });
}

/** `keys`: how many of its keys were not deleted yet, and were deleted with it. */
export function clientDeleted(clientId: string, keys: number, at: number): ClientChangeEntry {
  return entry(at, 'client.deleted', clientId, null, { keys });
}

export function keyDeleted(clientId: string, keyId: string, at: number): ClientChangeEntry {
  return entry(at, 'key.deleted', clientId, keyId);
}

export function keyCreated(key: ApiKeyRecord): ClientChangeEntry {
  return entry(key.createdAt, 'key.created', key.clientId, key.keyId, { scope: key.scope, alias: key.alias });
}

export function keyRevoked(
  clientId: string,
  keyId: string,
  at: number,
  reason?: 'exposed',
): ClientChangeEntry {
  return entry(at, 'key.revoked', clientId, keyId, reason === undefined ? null : { reason });
}

export function keyRotated(
  clientId: string,
  keyId: string,
  replacedBy: string,
  oldKeyEndsAt: number,
  at: number,
): ClientChangeEntry {
  return entry(at, 'key.rotated', clientId, keyId, {
    replacedBy,
    oldKeyEndsAt: new Date(oldKeyEndsAt).toISOString(),
  });
}

export function keyExposed(clientId: string, keyId: string, revoked: boolean, at: number): ClientChangeEntry {
  return entry(at, 'key.exposed', clientId, keyId, { revoked });
}

export function keyExpired(clientId: string, keyId: string, expiredAt: number): ClientChangeEntry {
  return entry(expiredAt, 'key.expired', clientId, keyId);
}

/** A token ended through RFC 7009, or found exposed and revoked for it (`--revoke-exposed-keys`). */
export function tokenRevoked(
  token: RevokedToken,
  reason: 'revoked' | 'exposed',
  at: number,
): ClientChangeEntry {
  if (reason === 'exposed') return tokenExposed(token, true, at);
  return entry(at, 'token.revoked', token.clientId, token.keyId, { token: tokenFingerprint(token.tokenId) });
}

/** A real token seen over plain HTTP, revoked for it or only recorded. */
export function tokenExposed(
  token: Pick<RevokedToken, 'tokenId' | 'clientId' | 'keyId'>,
  revoked: boolean,
  at: number,
): ClientChangeEntry {
  return entry(at, 'token.exposed', token.clientId, token.keyId, {
    token: tokenFingerprint(token.tokenId),
    revoked,
  });
}

export function introspectorCreated(name: string, at: number): AuditEvent {
  return entry(at, 'introspector.created', null, null, { name });
}

export function introspectorRevoked(name: string, at: number): AuditEvent {
  return entry(at, 'introspector.revoked', null, null, { name });
}

export function adminCreated(name: string, role: AdminRole, at: number): AuditEvent {
  return entry(at, 'admin.created', null, null, { name, role });
}

export function adminRevoked(name: string, at: number): AuditEvent {
  return entry(at, 'admin.revoked', null, null, { name });
}

/** `portcullis audit prune`: what was removed, kept in the trail itself. */
export function auditPruned(before: number, removed: number, at: number): AuditEvent {
  return entry(at, 'audit.pruned', null, null, { before: new Date(before).toISOString(), removed });
}

function entry<C extends string | null>(
  at: number,
  type: AuditEventType,
  clientId: C,
  keyId: string | null,
  detail: AuditEvent['detail'] = null,
): AuditEvent & { readonly clientId: C } {
  // The store stamps the actor of the view that writes the entry (`Store.actingAs`).
  return { at, type, clientId, keyId, source: null, count: 1, detail, actor: null };
}
