import type { Environment } from '../domain/environment.js';
import type { ApiKeyRecord, ClientRecord, ClientStatus, IntrospectorRecord } from '../domain/records.js';
import type { KeyScope } from '../domain/scope.js';
import { parseLimitWindows } from '../limits/window-spec.js';
import type { Store } from '../store/store.js';
import { API_KEY_PREFIX, generateApiKey, generateKeyId, hashApiKey } from './api-key.js';
import { isValidClientId } from './client-id.js';

/**
 * What operators do to clients and keys (the CLI and `serve --demo-client` call these). Each returns the
 * API key in clear exactly once, at creation; the store only ever sees its HMAC.
 */
export interface KeyManagementContext {
  readonly store: Store;
  readonly serverSecret: Buffer;
  readonly environment: Environment;
}

export class ManagementError extends Error {
  override name = 'ManagementError';
}

export interface NewKeyOptions {
  readonly alias?: string | undefined;
  /** Default `write`: the key may call every method, as a MANGOPAY key can. */
  readonly scope?: KeyScope | undefined;
  readonly expiresInDays?: number | undefined;
}

export interface ClientSettings {
  readonly name?: string | undefined;
  readonly tokenTtlSeconds?: number | null | undefined;
  /** `COUNT/WINDOW,…`, `off`, or null for the server's limits. */
  readonly rateLimits?: string | null | undefined;
}

export interface CreatedKey {
  readonly key: ApiKeyRecord;
  readonly apiKey: string;
}

const PRINTABLE_LABEL = /^[\x20-\x7e]{1,64}$/;

export async function createClient(
  context: KeyManagementContext,
  input: { clientId: string } & ClientSettings,
  keyOptions: NewKeyOptions = {},
): Promise<{ client: ClientRecord } & CreatedKey> {
  if (!isValidClientId(input.clientId)) {
    throw new ManagementError(
      `invalid ClientId "${printable(input.clientId)}": use 1 to 64 of A-Z a-z 0-9 _ -, not "oauth", not starting with "pcl_"`,
    );
  }
  const name = input.name ?? input.clientId;
  checkClientSettings({ ...input, name });
  const client = await context.store.createClient({
    clientId: input.clientId,
    name,
    tokenTtlSeconds: input.tokenTtlSeconds ?? null,
    rateLimits: input.rateLimits ?? null,
    createdAt: Date.now(),
  });
  if (client === undefined) {
    throw new ManagementError(
      `client ${input.clientId} already exists, or one whose ClientId differs from it only in case (which an upstream API may not tell apart)`,
    );
  }
  return { client, ...(await createKey(context, client.clientId, keyOptions)) };
}

export async function createKey(
  context: KeyManagementContext,
  clientId: string,
  options: NewKeyOptions = {},
): Promise<CreatedKey> {
  await requireClient(context.store, clientId);
  if (options.alias !== undefined && !PRINTABLE_LABEL.test(options.alias)) {
    throw new ManagementError('the alias must be 1 to 64 printable ASCII characters');
  }
  const now = Date.now();
  const lifetimeMs = options.expiresInDays === undefined ? null : options.expiresInDays * 86_400_000;
  const created = newKey(context, clientId, options.alias ?? null, options.scope ?? 'write', lifetimeMs, now);
  await context.store.createApiKey(created.key);
  return created;
}

/**
 * Replaces a key with a new one of the same alias, scope and lifetime. The old key keeps working for
 * `graceHours` (so that deployments can switch over), then stops, and its tokens with it; 0 ends it now.
 */
export async function rotateKey(
  context: KeyManagementContext,
  clientId: string,
  keyId: string,
  graceHours: number,
): Promise<CreatedKey & { readonly old: ApiKeyRecord }> {
  await requireClient(context.store, clientId);
  const now = Date.now();
  const old = (await context.store.listApiKeys(clientId)).find((key) => key.keyId === keyId);
  if (old === undefined) throw new ManagementError(`client ${clientId} has no key ${printable(keyId)}`);
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
    throw new ManagementError(`key ${keyId} is revoked or expired: nothing to rotate`);
  return { key: rotated.replacement, apiKey: created.apiKey, old: rotated.old };
}

function newKey(
  context: KeyManagementContext,
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
  };
  return { key, apiKey };
}

export async function revokeKey(store: Store, clientId: string, keyId: string): Promise<ApiKeyRecord> {
  await requireClient(store, clientId);
  const key = await store.revokeApiKey(clientId, keyId, Date.now());
  if (key === undefined) throw new ManagementError(`client ${clientId} has no key ${printable(keyId)}`);
  return key;
}

export async function setClientStatus(
  store: Store,
  clientId: string,
  status: ClientStatus,
): Promise<ClientRecord> {
  await requireClient(store, clientId);
  return (await store.updateClient(clientId, { status }, Date.now())) as ClientRecord;
}

export async function updateClientSettings(
  store: Store,
  clientId: string,
  settings: ClientSettings,
): Promise<ClientRecord> {
  await requireClient(store, clientId);
  checkClientSettings(settings);
  const update = Object.fromEntries(Object.entries(settings).filter(([, value]) => value !== undefined));
  return (await store.updateClient(clientId, update, Date.now())) as ClientRecord;
}

function checkClientSettings(settings: ClientSettings): void {
  if (settings.name !== undefined && !PRINTABLE_LABEL.test(settings.name)) {
    throw new ManagementError('the name must be 1 to 64 printable ASCII characters');
  }
  if (typeof settings.rateLimits === 'string') {
    try {
      parseLimitWindows('rate limits', settings.rateLimits);
    } catch (error) {
      throw new ManagementError((error as Error).message);
    }
  }
}

/**
 * An introspection credential (RFC 7662 §2.1): a name to send as the Basic user name and an API key,
 * shown once. It can only introspect tokens; it is not a client and calls no API.
 */
export async function createIntrospector(
  context: KeyManagementContext,
  name: string,
): Promise<{ readonly introspector: IntrospectorRecord; readonly apiKey: string }> {
  if (!isValidClientId(name)) {
    throw new ManagementError(`invalid introspector name "${printable(name)}": use the ClientId rules`);
  }
  const apiKey = generateApiKey(context.environment);
  const introspector: IntrospectorRecord = {
    name,
    keyHash: hashApiKey(context.serverSecret, apiKey),
    createdAt: Date.now(),
    revokedAt: null,
  };
  if (!(await context.store.createIntrospector(introspector))) {
    throw new ManagementError(`introspector ${name} already exists`);
  }
  return { introspector, apiKey };
}

export async function revokeIntrospector(store: Store, name: string): Promise<IntrospectorRecord> {
  const introspector = await store.revokeIntrospector(name, Date.now());
  if (introspector === undefined) throw new ManagementError(`no introspector "${printable(name)}"`);
  return introspector;
}

export async function requireClient(store: Store, clientId: string): Promise<ClientRecord> {
  const client = isValidClientId(clientId) ? await store.getClient(clientId) : undefined;
  if (client === undefined) throw new ManagementError(`no client "${printable(clientId)}"`);
  return client;
}

/** Operator input echoed in an error: cut short, control characters replaced, and never an API key. */
function printable(value: string): string {
  if (value.startsWith(API_KEY_PREFIX)) return '(an API key, not shown)';
  return value.replace(/[^\x20-\x7e]/g, '?').slice(0, 64);
}
