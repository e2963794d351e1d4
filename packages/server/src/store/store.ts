import type {
  ApiKeyRecord,
  ChangeBatch,
  ClientCredentials,
  ClientRecord,
  ClientUpdate,
  NewClient,
} from './records.js';

/**
 * Durable state behind one interface, so that the embedded SQLite store and a networked one can serve
 * the same server. Every mutation of a client or its keys also records a change, which other processes
 * on the same store read through `changesSince` to drop what they cached.
 */
export interface Store {
  createClient(client: NewClient): Promise<ClientRecord | undefined>;
  getClient(clientId: string): Promise<ClientRecord | undefined>;
  listClients(): Promise<ClientRecord[]>;
  updateClient(clientId: string, update: ClientUpdate, now: number): Promise<ClientRecord | undefined>;

  createApiKey(key: ApiKeyRecord): Promise<void>;
  listApiKeys(clientId: string): Promise<ApiKeyRecord[]>;
  revokeApiKey(clientId: string, keyId: string, now: number): Promise<ApiKeyRecord | undefined>;
  recordKeyUse(lastUsedByKeyId: ReadonlyMap<string, number>): Promise<void>;

  getClientCredentials(clientId: string): Promise<ClientCredentials | undefined>;

  /** Deletes change records older than `before`: every process has read them long since. */
  pruneChanges(before: number): Promise<void>;

  latestChange(): Promise<number>;
  changesSince(sequence: number): Promise<ChangeBatch>;

  close(): Promise<void>;
}
