import type { ApiKeyRecord } from '../domain/records.js';
import type { KeyScope } from '../domain/scope.js';
import { generateApiKey, generateKeyId, hashApiKey } from '../keys/api-key.js';
import type { Outcome, Store } from '../store/store.js';
import {
  type AdminContext,
  AdminError,
  checkLabel,
  printable,
  requireClient,
  requireClientRecord,
} from './admin.js';

export interface NewKeyOptions {
  readonly alias?: string | undefined;
  /** Default `write`: the key may call every method, as a MANGOPAY key can. */
  readonly scope?: KeyScope | undefined;
  readonly expiresInDays?: number | undefined;
}

export interface CreatedKey {
  readonly key: ApiKeyRecord;
  /** The API key in clear, shown this once. */
  readonly apiKey: string;
}

export async function createKey(
  context: AdminContext,
  clientId: string,
  options: NewKeyOptions = {},
): Promise<CreatedKey> {
  await requireClient(context.store, clientId);
  checkLabel('alias', options.alias);
  const now = Date.now();
  const lifetimeMs = options.expiresInDays === undefined ? null : options.expiresInDays * 86_400_000;
  const created = newKey(context, clientId, options.alias ?? null, options.scope ?? 'write', lifetimeMs, now);
  await context.store.createApiKey(created.key);
  return created;
}

/** A client's keys, oldest first: ids and status, never the keys. */
export async function listKeys(store: Store, clientId: string): Promise<ApiKeyRecord[]> {
  await requireClient(store, clientId);
  return store.listApiKeys(clientId);
}

/**
 * Replaces a key with a new one of the same alias, scope and lifetime. The old key keeps working for
 * `graceHours` (so that deployments can switch over), then stops, and its tokens with it; 0 ends it now.
 */
export async function rotateKey(
  context: AdminContext,
  clientId: string,
  keyId: string,
  graceHours: number,
): Promise<CreatedKey & { readonly old: ApiKeyRecord }> {
  await requireClient(context.store, clientId);
  const now = Date.now();
  const old = (await context.store.listApiKeys(clientId)).find((key) => key.keyId === keyId);
  if (old === undefined)
    throw new AdminError('not_found', `client ${clientId} has no key ${printable(keyId)}`);
  const lifetimeMs = old.expiresAt === null ? null : old.expiresAt - old.createdAt;
  const created = newKey(context, clientId, old.alias, old.scope, lifetimeMs, now);
  const rotated = await context.store.rotateApiKey(
    clientId,
    keyId,
    created.key,
    now + graceHours * 3_600_000,
    now,
  );
  if (rotated === undefined)
    throw new AdminError('conflict', `key ${keyId} is revoked or expired: nothing to rotate`);
  return { key: rotated.replacement, apiKey: created.apiKey, old: rotated.old };
}

/** Ends a key at once, and every token it obtained with it. Revoking a revoked key changes nothing. */
export async function revokeKey(
  store: Store,
  clientId: string,
  keyId: string,
): Promise<Outcome<ApiKeyRecord>> {
  await requireClient(store, clientId);
  const outcome = await store.revokeApiKey(clientId, keyId, Date.now());
  if (outcome === undefined)
    throw new AdminError('not_found', `client ${clientId} has no key ${printable(keyId)}`);
  return outcome;
}

/**
 * Deletes a key: it and its tokens stop working at once, it leaves the listings, and its audit entries
 * stay. Deleting it again, or a key of a deleted client (deleted with it), changes nothing.
 */
export async function deleteKey(
  store: Store,
  clientId: string,
  keyId: string,
): Promise<Outcome<ApiKeyRecord>> {
  await requireClientRecord(store, clientId);
  const outcome = await store.deleteApiKey(clientId, keyId, Date.now());
  if (outcome === undefined)
    throw new AdminError('not_found', `client ${clientId} has no key ${printable(keyId)}`);
  return outcome;
}

function newKey(
  context: AdminContext,
  clientId: string,
  alias: string | null,
  scope: KeyScope,
  lifetimeMs: number | null,
  now: number,
): CreatedKey {
  const apiKey = generateApiKey(context.environment);
  const key: ApiKeyRecord = {
    keyId: generateKeyId(),
    clientId,
    alias,
    keyHash: hashApiKey(context.serverSecret, apiKey),
    environment: context.environment,
    scope,
    createdAt: now,
    expiresAt: lifetimeMs === null ? null : now + lifetimeMs,
    revokedAt: null,
    lastUsedAt: null,
    exposedAt: null,
    replacedBy: null,
    deletedAt: null,
  };
  return { key, apiKey };
}
