import type { ApiKeyRecord, ClientRecord, ClientStatus } from '../domain/records.js';
import { isValidClientId } from '../keys/client-id.js';
import { parseLimitWindows } from '../limits/window-spec.js';
import type { Store } from '../store/store.js';
import { type AdminContext, AdminError, checkLabel, printable, requireClient } from './admin.js';
import { type CreatedKey, createKey, type NewKeyOptions } from './keys.js';

export interface ClientSettings {
  readonly name?: string | undefined;
  readonly tokenTtlSeconds?: number | null | undefined;
  /** `COUNT/WINDOW,…`, `off`, or null for the server's limits. */
  readonly rateLimits?: string | null | undefined;
}

/** A client and its first API key (`serve --demo-client` makes one this way too). */
export async function createClient(
  context: AdminContext,
  input: { clientId: string } & ClientSettings,
  keyOptions: NewKeyOptions = {},
): Promise<{ client: ClientRecord } & CreatedKey> {
  if (!isValidClientId(input.clientId)) {
    throw new AdminError(
      `invalid ClientId "${printable(input.clientId)}": use 1 to 64 of A-Z a-z 0-9 _ -, not "oauth", not starting with "pcl_"`,
      'clientId',
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
    throw new AdminError(
      `client ${input.clientId} already exists, or one whose ClientId differs from it only in case (which an upstream API may not tell apart)`,
    );
  }
  return { client, ...(await createKey(context, client.clientId, keyOptions)) };
}

export function listClients(store: Store): Promise<ClientRecord[]> {
  return store.listClients();
}

/** A client with its keys, oldest first. */
export async function showClient(
  store: Store,
  clientId: string,
): Promise<{ readonly client: ClientRecord; readonly keys: ApiKeyRecord[] }> {
  return { client: await requireClient(store, clientId), keys: await store.listApiKeys(clientId) };
}

/** Disabling a client stops its keys and tokens at once; enabling it lets its keys work again. */
export async function setClientStatus(
  store: Store,
  clientId: string,
  status: ClientStatus,
): Promise<ClientRecord> {
  await requireClient(store, clientId);
  return (await store.updateClient(clientId, { status }, Date.now())) as ClientRecord;
}

/** Changes the settings given; undefined ones keep their value, null ones return to the server's. */
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
  checkLabel('name', settings.name);
  if (typeof settings.rateLimits === 'string') {
    try {
      parseLimitWindows('rate limits', settings.rateLimits);
    } catch (error) {
      throw new AdminError((error as Error).message, 'rateLimits');
    }
  }
}
