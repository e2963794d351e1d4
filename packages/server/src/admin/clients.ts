import type { ApiKeyRecord, ClientRecord, ClientStatus } from '../domain/records.js';
import { isValidClientId } from '../keys/client-id.js';
import { parseLimitWindows } from '../limits/window-spec.js';
import type { ClientUpdateOutcome, Outcome, Store } from '../store/store.js';
import {
  type AdminContext,
  AdminError,
  checkLabel,
  printable,
  requireClient,
  requireClientRecord,
} from './admin.js';
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
      'invalid',
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
    const taken = await context.store.getClient(input.clientId);
    if (taken !== undefined && taken.deletedAt !== null) {
      throw new AdminError(
        'conflict',
        `ClientId ${input.clientId} belonged to a client deleted at ${new Date(taken.deletedAt).toISOString()} and is never reused: choose another`,
        'clientId',
      );
    }
    throw new AdminError(
      'conflict',
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

/**
 * Disabling a client stops its keys and tokens at once; enabling it lets its keys work again. Setting the
 * status it has changes nothing, and writes nothing.
 */
export async function setClientStatus(
  store: Store,
  clientId: string,
  status: ClientStatus,
): Promise<ClientUpdateOutcome> {
  await requireClient(store, clientId);
  return changed(clientId, await store.changeClient(clientId, { status }, Date.now()));
}

/**
 * Changes the settings given; undefined ones keep their value, null ones return to the server's. Settings
 * equal to the current ones (or none) change nothing, and write nothing.
 */
export async function updateClientSettings(
  store: Store,
  clientId: string,
  settings: ClientSettings,
): Promise<ClientUpdateOutcome> {
  await requireClient(store, clientId);
  checkClientSettings(settings);
  const update = Object.fromEntries(Object.entries(settings).filter(([, value]) => value !== undefined));
  return changed(clientId, await store.changeClient(clientId, update, Date.now()));
}

/**
 * Deletes a client: its keys and tokens stop working at once, it leaves the listings, its audit entries
 * stay, and its ClientId is never given to another client. Deleting it again changes nothing.
 */
export async function deleteClient(store: Store, clientId: string): Promise<Outcome<ClientRecord>> {
  const client = await requireClientRecord(store, clientId);
  const outcome = await store.deleteClient(client.clientId, Date.now());
  if (outcome === undefined) throw new AdminError('not_found', `no client "${printable(clientId)}"`);
  return outcome;
}

/** A change to a client that existed a moment ago: it can only have been deleted meanwhile. */
function changed(clientId: string, outcome: ClientUpdateOutcome | undefined): ClientUpdateOutcome {
  if (outcome === undefined) throw new AdminError('not_found', `client ${clientId} was deleted meanwhile`);
  return outcome;
}

function checkClientSettings(settings: ClientSettings): void {
  checkLabel('name', settings.name);
  if (typeof settings.rateLimits === 'string') {
    try {
      parseLimitWindows('rate limits', settings.rateLimits);
    } catch (error) {
      throw new AdminError('invalid', (error as Error).message, 'rateLimits');
    }
  }
}
