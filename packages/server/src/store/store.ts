import type {
  ApiKeyRecord,
  AuditEvent,
  AuditQuery,
  ChangeBatch,
  ClientCredentials,
  ClientRecord,
  ClientUpdate,
  IntrospectorRecord,
  NewClient,
  RevokedToken,
} from '../domain/records.js';

/**
 * Told the ClientIds whose client, keys or revoked tokens a committed write changed. It must not throw:
 * the write has taken effect whatever the listener does.
 */
export type ChangeListener = (clientIds: readonly string[]) => void;

/** The server secret as the store knows it: fingerprints only (`keys/server-secret.ts`). */
export interface ServerSecretState {
  /** The fingerprint of the secret that hashes new keys, or undefined before any process recorded one. */
  readonly current: string | undefined;
  /** Fingerprints of secrets retired by rotation. */
  readonly retired: readonly string[];
  /** Whether the store holds any client: one without a fingerprint is then from before fingerprints. */
  readonly holdsClients: boolean;
}

/** An API key's or introspector's HMAC, found under an older server secret, moved to the current one's. */
export interface CredentialRehash {
  readonly kind: 'key' | 'introspector';
  /** The key id, or the introspector's name. */
  readonly id: string;
  readonly fromHash: string;
  readonly toHash: string;
}

/**
 * Durable state behind one interface, so that the embedded SQLite store and a networked one can serve
 * the same server. Every mutation of a client, its keys or its tokens records a change, which other
 * processes on the same store read through `changesSince` to drop what they cached, and appends its
 * audit event in the same transaction: an acknowledged change is never without its audit entry.
 */
export interface Store {
  /**
   * Calls `listener` after each write that changed clients has committed, before the write resolves;
   * never for a write that found nothing to change. This process's caches and announcements hang here,
   * so that no caller has to remember them.
   */
  onChange(listener: ChangeListener): void;

  createClient(client: NewClient): Promise<ClientRecord | undefined>;
  getClient(clientId: string): Promise<ClientRecord | undefined>;
  listClients(): Promise<ClientRecord[]>;
  updateClient(clientId: string, update: ClientUpdate, now: number): Promise<ClientRecord | undefined>;

  createApiKey(key: ApiKeyRecord): Promise<void>;
  listApiKeys(clientId: string): Promise<ApiKeyRecord[]>;
  /**
   * The key with this HMAC, whatever its client, in one indexed read: the plain-HTTP exposure check
   * uses it so that its cost does not depend on whether the ClientId sent beside the key exists.
   */
  findKeyByHash(keyHash: string): Promise<ApiKeyRecord | undefined>;
  revokeApiKey(clientId: string, keyId: string, now: number): Promise<ApiKeyRecord | undefined>;
  /**
   * Creates `replacement` and ends `keyId` at `oldEndsAt` (at once when that is `now`), in one
   * transaction. Undefined when the client has no such key still usable.
   */
  rotateApiKey(
    clientId: string,
    keyId: string,
    replacement: ApiKeyRecord,
    oldEndsAt: number,
    now: number,
  ): Promise<{ readonly old: ApiKeyRecord; readonly replacement: ApiKeyRecord } | undefined>;
  /** Flags a key seen over plain HTTP, and revokes it too when `revoke` is set. */
  markKeyExposed(clientId: string, keyId: string, now: number, revoke: boolean): Promise<void>;
  /** Records `key.expired` once for each key whose expiry has passed. */
  recordExpiredKeys(now: number): Promise<void>;
  recordKeyUse(lastUsedByKeyId: ReadonlyMap<string, number>): Promise<void>;

  getClientCredentials(clientId: string): Promise<ClientCredentials | undefined>;

  /** Adds a token to its client's revoked tokens (RFC 7009); `reason` goes to the audit trail. */
  revokeToken(token: RevokedToken, now: number, reason: 'revoked' | 'exposed'): Promise<void>;

  createIntrospector(introspector: IntrospectorRecord): Promise<boolean>;
  listIntrospectors(): Promise<IntrospectorRecord[]>;
  findIntrospector(keyHash: string): Promise<IntrospectorRecord | undefined>;
  revokeIntrospector(name: string, now: number): Promise<IntrospectorRecord | undefined>;

  appendAuditEvents(events: readonly AuditEvent[]): Promise<void>;
  /** Audit entries, oldest first; counted events of the same minute, kind and subject are summed. */
  readAudit(query: AuditQuery): Promise<AuditEvent[]>;
  /**
   * Removes the audit entries older than `before`, except the records of earlier prunings, and appends
   * an `audit.pruned` entry saying so, in one transaction. Resolves with the number removed. The only
   * way entries leave the trail: the database refuses any other update or delete.
   */
  pruneAudit(before: number, now: number): Promise<number>;

  /** Deletes change records older than `before` and revoked tokens expired by then. */
  pruneChanges(before: number): Promise<void>;

  latestChange(): Promise<number>;
  changesSince(sequence: number): Promise<ChangeBatch>;

  serverSecretState(): Promise<ServerSecretState>;
  /**
   * Compare-and-set of the current secret's fingerprint: records `fingerprint` as current if the current
   * one is still `expected` (undefined: none yet), and retires `expected`. False when another process
   * changed it first; the caller reads the state again. Rejects when `fingerprint` was retired before.
   */
  recordServerSecret(fingerprint: string, expected: string | undefined, now: number): Promise<boolean>;
  /**
   * Moves each credential to its new HMAC, only where the stored one is still `fromHash` (another process
   * may have moved it, or the key been replaced). Resolves with how many moved.
   */
  rehashCredentials(rehashes: readonly CredentialRehash[]): Promise<number>;

  /** The latest migration applied. */
  schemaVersion(): Promise<number>;

  close(): Promise<void>;
}
