import type { ApiKeyRecord, ClientRecord, ClientStatus } from '../store/records.js';
import type { Store } from '../store/store.js';
import { API_KEY_PREFIX, generateApiKey, generateKeyId, hashApiKey } from './api-key.js';
import { isValidClientId } from './client-id.js';
import type { Environment } from './environment.js';

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
  readonly expiresInDays?: number | undefined;
}

export interface CreatedKey {
  readonly key: ApiKeyRecord;
  readonly apiKey: string;
}

const PRINTABLE_LABEL = /^[\x20-\x7e]{1,64}$/;

export async function createClient(
  context: KeyManagementContext,
  input: { clientId: string; name?: string | undefined; tokenTtlSeconds?: number | undefined },
  keyOptions: NewKeyOptions = {},
): Promise<{ client: ClientRecord } & CreatedKey> {
  if (!isValidClientId(input.clientId)) {
    throw new ManagementError(
      `invalid ClientId "${printable(input.clientId)}": use 1 to 64 of A-Z a-z 0-9 _ -, not "oauth", not starting with "pcl_"`,
    );
  }
  const name = input.name ?? input.clientId;
  if (!PRINTABLE_LABEL.test(name))
    throw new ManagementError('the name must be 1 to 64 printable ASCII characters');
  const client = await context.store.createClient({
    clientId: input.clientId,
    name,
    tokenTtlSeconds: input.tokenTtlSeconds ?? null,
    createdAt: Date.now(),
  });
  if (client === undefined) throw new ManagementError(`client ${input.clientId} already exists`);
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
  const apiKey = generateApiKey(context.environment);
  const key: ApiKeyRecord = {
    keyId: generateKeyId(),
    clientId,
    alias: options.alias ?? null,
    keyHash: hashApiKey(context.serverSecret, apiKey),
    environment: context.environment,
    createdAt: now,
    expiresAt: options.expiresInDays === undefined ? null : now + options.expiresInDays * 86_400_000,
    revokedAt: null,
    lastUsedAt: null,
  };
  await context.store.createApiKey(key);
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
