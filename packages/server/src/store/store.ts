import type {
  ActiveAdminSession,
  AdminRecord,
  AdminSessionRecord,
  ApiKeyRecord,
  AuditEntry,
  AuditEvent,
  AuditQuery,
  ChangeBatch,
  ClientChanges,
  ClientCredentials,
  ClientPage,
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

/** A credential's HMAC, found under an older server secret, moved to the current one's. */
export interface CredentialRehash {
  readonly kind: 'key' | 'introspector' | 'admin';
  /** The key id, or the introspector's or admin's name. */
  readonly id: string;
  readonly fromHash: string;
  readonly toHash: string;
}

/**
 * What a write did: the record as the write left it, and whether it changed anything. A write that found
 * nothing to change wrote nothing: no audit entry, no change-feed row, no announcement.
 */
export interface Outcome<T> {
  readonly record: T;
  readonly changed: boolean;
}

/** A client update's outcome, with the fields it changed besides the status and their new values. */
export interface ClientUpdateOutcome extends Outcome<ClientRecord> {
  readonly fields: ClientChanges;
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

  /**
   * A view of this store (same connection, same change listeners) whose writes stamp `actor` on the
   * audit entries they append: the admin API passes the admin's name, the CLI `cli`. Entries the server
   * appends on its own store carry none. Closing the view closes the store.
   */
  actingAs(actor: string): Store;

  /** Undefined when the ClientId is taken, in any case, by a deleted client too: ClientIds are never reused. */
  createClient(client: NewClient): Promise<ClientRecord | undefined>;
  /** The client, deleted or not (`deletedAt` says). */
  getClient(clientId: string): Promise<ClientRecord | undefined>;
  /**
   * Clients not deleted, by ClientId. Without `page`, every one; with it, at most `page.limit`, those
   * whose ClientId sorts after `page.after` (bytewise), and with `page.prefix` only those whose ClientId
   * or name starts with it (case-sensitive; no character is a wildcard).
   */
  listClients(page?: ClientPage): Promise<ClientRecord[]>;
  /** `changeClient`'s record: undefined when there is no such client, or it was deleted. */
  updateClient(clientId: string, update: ClientUpdate, now: number): Promise<ClientRecord | undefined>;
  /**
   * Merges `update` into the client (an undefined field keeps its value); undefined when there is no
   * such client, or it was deleted. The audit entry lists the fields changed and their new values.
   */
  changeClient(clientId: string, update: ClientUpdate, now: number): Promise<ClientUpdateOutcome | undefined>;

  createApiKey(key: ApiKeyRecord): Promise<void>;
  /** The client's keys not deleted, oldest first. */
  listApiKeys(clientId: string): Promise<ApiKeyRecord[]>;
  /**
   * The key with this HMAC, whatever its client, in one indexed read: the plain-HTTP exposure check
   * uses it so that its cost does not depend on whether the ClientId sent beside the key exists.
   */
  findKeyByHash(keyHash: string): Promise<ApiKeyRecord | undefined>;
  /** Undefined when the client has no such key, or it was deleted; unchanged when it was revoked already. */
  revokeApiKey(clientId: string, keyId: string, now: number): Promise<Outcome<ApiKeyRecord> | undefined>;
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

  /** Undefined for a deleted client; its keys not deleted. */
  getClientCredentials(clientId: string): Promise<ClientCredentials | undefined>;

  /**
   * Deletion leaves a tombstone rather than removing the row: the audit trail names ClientIds and key
   * ids, and a ClientId handed to someone else would make another party's old tokens, logs and history
   * name the new owner. A deleted client's keys are deleted with it, in one transaction; deleted clients
   * and keys authenticate nothing and are listed nowhere. Undefined when there is no such client or key;
   * unchanged when it was deleted already.
   */
  deleteClient(clientId: string, now: number): Promise<Outcome<ClientRecord> | undefined>;
  deleteApiKey(clientId: string, keyId: string, now: number): Promise<Outcome<ApiKeyRecord> | undefined>;

  /** Adds a token to its client's revoked tokens (RFC 7009); `reason` goes to the audit trail. */
  revokeToken(token: RevokedToken, now: number, reason: 'revoked' | 'exposed'): Promise<void>;

  createIntrospector(introspector: IntrospectorRecord): Promise<boolean>;
  listIntrospectors(): Promise<IntrospectorRecord[]>;
  findIntrospector(keyHash: string): Promise<IntrospectorRecord | undefined>;
  revokeIntrospector(name: string, now: number): Promise<IntrospectorRecord | undefined>;

  /** Creates an admin credential; false when the name is taken (in any case). Audited without the token. */
  createAdmin(admin: AdminRecord): Promise<boolean>;
  /** Every admin, revoked or not, by name. */
  listAdmins(): Promise<AdminRecord[]>;
  /** The admin whose token has this HMAC, revoked or not. */
  findAdmin(keyHash: string): Promise<AdminRecord | undefined>;
  /** Undefined when there is no such admin; unchanged (and not audited again) when revoked already. */
  revokeAdmin(name: string, now: number): Promise<AdminRecord | undefined>;

  /** Dashboard sessions (issue 14): not audited, as signing in changes nothing. */
  createAdminSession(session: AdminSessionRecord): Promise<void>;
  /** The session, unless ended or expired at `now`, with its admin's record. */
  findAdminSession(idHash: string, now: number): Promise<ActiveAdminSession | undefined>;
  /** Ends a session (sign-out); false when it had ended already or never was. */
  endAdminSession(idHash: string, now: number): Promise<boolean>;

  appendAuditEvents(events: readonly AuditEvent[]): Promise<void>;
  /**
   * Without `query.after` or `before`: the latest `limit` entries, oldest first, counted events of the same minute,
   * kind and subject summed (written in slices by several processes), each with its first row's id.
   * With `after`: the next `limit` entries above that id, in id order, one stored row each: a counted
   * event written in slices comes as several entries whose counts add up, since summing across a page
   * boundary would count a slice twice or skip one. With `before`: the next `limit` entries below that
   * id, newest first, one stored row each, the same way down. In PostgreSQL ids are taken before commit, so an
   * entry committing late can appear below a cursor already passed; a reader that must see every entry
   * keeps its cursor a few seconds behind the newest entry.
   */
  readAudit(query: AuditQuery): Promise<AuditEntry[]>;
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
