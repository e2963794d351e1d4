import type { ApiKeyRow, ClientRow } from './rows.js';

/**
 * What a SQL database must provide for `SqlStore`'s rules to run on it: the text of each statement, a
 * way to run one, transactions, and the lock that orders the change feed. SQLite and PostgreSQL differ
 * only here.
 */

/**
 * The statements the rules run. A dialect writes each one in its own SQL, with numbered placeholders
 * (`$1` in PostgreSQL, `?1` in SQLite) that take the rule's values in the order listed on each name.
 */
export interface Statements {
  /** [clientId, name, tokenTtlSeconds, rateLimits, createdAt] → the row, or none if the ClientId is taken */
  readonly insertClient: string;
  /** [clientId], deleted or not */
  readonly selectClient: string;
  /** [] → every client not deleted, by ClientId */
  readonly selectClients: string;
  /** [clientId] → the row, locked until the transaction ends where the database locks rows */
  readonly selectClientForChange: string;
  /** [clientId, name, status, tokenTtlSeconds, rateLimits, profile (JSON), updatedAt] → the row */
  readonly updateClient: string;

  /** [keyId, clientId, alias, keyHash, environment, scope, createdAt, expiresAt] */
  readonly insertKey: string;
  /** [clientId] → its keys not deleted, oldest first */
  readonly selectKeysOfClient: string;
  /** [keyHash] → the key, unless deleted */
  readonly selectKeyByHash: string;
  /** [keyId, clientId] → the row, deleted or not, locked until the transaction ends where rows are locked */
  readonly selectKeyForChange: string;
  /** [keyId, at] → the row */
  readonly revokeKey: string;
  /** [keyId, at, replacedBy]: revoked now, replaced → the row */
  readonly endKeyNow: string;
  /** [keyId, endsAt, replacedBy]: expires at `endsAt` at the latest, replaced → the row */
  readonly endKeyAt: string;
  /** [keyId, at]: flagged exposed, keeping the first time → the row */
  readonly exposeKey: string;
  /** [now] → key_id, client_id, expires_at of each live key whose expiry passed unrecorded, now recorded */
  readonly markExpiredKeys: string;
  /** [JSON array of {key_id, at}]: each key's last use, only ever moved forward */
  readonly touchKeys: string;

  // Deletion leaves a tombstone: the audit trail names ClientIds and key ids, which must keep their meaning.
  /** [clientId, at] → the row, marked deleted */
  readonly deleteClient: string;
  /** [clientId, at]: marks deleted every key of the client not deleted yet */
  readonly deleteKeysOfClient: string;
  /** [keyId, at] → the row, marked deleted */
  readonly deleteKey: string;

  /** [tokenId, clientId, keyId, expiresAt, revokedAt]: nothing if already revoked */
  readonly insertRevokedToken: string;
  /** [before]: revoked tokens expired by then */
  readonly deleteExpiredRevokedTokens: string;

  /** [name, keyHash, createdAt]: nothing if the name is taken */
  readonly insertIntrospector: string;
  /** [name] */
  readonly selectIntrospector: string;
  /** [] → every introspector, by name */
  readonly selectIntrospectors: string;
  /** [keyHash] */
  readonly selectIntrospectorByHash: string;
  /** [name, at] → the row, or none if it was revoked already */
  readonly revokeIntrospector: string;

  /** [at, type, clientId, keyId, source, count, detail (JSON), actor] */
  readonly insertAudit: string;
  /**
   * [since, clientId or null, limit, type or null, until or null] → the latest entries, oldest first, each
   * with `id` (the first row's); counted events of the same minute, kind and subject, written in slices by
   * several processes, summed.
   */
  readonly selectAudit: string;
  /** [before]: lets this transaction delete entries older than `before` (the trail is append-only) */
  readonly openAuditPrune: string;
  /** [before] → `count`: the entries a prune before `before` removes (a number) */
  readonly countAuditBefore: string;
  /** [before, limit]: deletes the oldest `limit` of them */
  readonly deleteAuditBefore: string;
  /** []: the trail is append-only again */
  readonly closeAuditPrune: string;

  /** [clientId, changedAt] */
  readonly insertChange: string;
  /** [] → `latest`: the highest sequence number, 0 when none */
  readonly latestChange: string;
  /** [sequence] → sequence and client_id of each later change, in order */
  readonly changesSince: string;
  /** [before, limit] → deletes the oldest `limit` changes made before `before` */
  readonly deleteOldChanges: string;

  /** [] → fingerprint and state ('current' or 'retired') of each server secret recorded, oldest first */
  readonly selectServerSecrets: string;
  /** [] → one row when the store holds any client */
  readonly selectAnyClient: string;
  /** [fingerprint, at]: retires it if it is the current one */
  readonly retireServerSecret: string;
  /** [fingerprint, at]: records it as the current one; nothing when there is one or it was recorded before */
  readonly insertServerSecret: string;
  /** [keyId, fromHash, toHash]: the key's stored HMAC, only if it is still `fromHash` */
  readonly rehashKey: string;
  /** [name, fromHash, toHash]: the introspector's stored HMAC, only if it is still `fromHash` */
  readonly rehashIntrospector: string;

  /** [] → `version`: the latest migration applied */
  readonly schemaVersion: string;

  // Admin credentials, paged listings (issue 13).
  /** [name, keyHash, role, createdAt]: nothing if the name (in any case) or the hash is taken */
  readonly insertAdmin: string;
  /** [name] */
  readonly selectAdmin: string;
  /** [] → every admin, by name */
  readonly selectAdmins: string;
  /** [keyHash] */
  readonly selectAdminByHash: string;
  /** [name, at] → the row, or none if it was revoked already (or there is none) */
  readonly revokeAdmin: string;
  /** [name, fromHash, toHash]: the admin's stored HMAC, only if it is still `fromHash` */
  readonly rehashAdmin: string;

  // Dashboard sessions (issue 14).
  /** [idHash, adminName, csrfToken, createdAt, expiresAt] */
  readonly insertAdminSession: string;
  /** [idHash, now] → the session, with its admin's record (`admin_*` columns), if not ended nor expired */
  readonly selectAdminSession: string;
  /** [idHash, now] → the number of sessions ended (0 when ended already) */
  readonly endAdminSession: string;
  /** [before] */
  readonly deleteEndedAdminSessions: string;
  /**
   * [limit, after ('' for the start), prefix or null] → clients not deleted, by ClientId (bytewise), after
   * `after`, and with a prefix only those whose ClientId or name starts with it, case-sensitively and with
   * no character taken as a wildcard
   */
  readonly selectClientsPage: string;
  /**
   * [after, since, clientId or null, type or null, until or null, limit] → the next entries with an id
   * above `after`, one stored row each (counted events not summed), in id order
   */
  readonly selectAuditAfter: string;
  /** [before, since, clientId, type, until, limit] → stored rows with id < before, newest first */
  readonly selectAuditBefore: string;
}

export type StatementName = keyof Statements;

/** A value bound to a placeholder. */
export type SqlValue = string | number | null;

export interface SqlStep {
  readonly statement: StatementName;
  readonly params: readonly SqlValue[];
}

export interface SqlResult {
  /** The rows a statement returned (a SELECT, or a write with RETURNING). */
  readonly rows: readonly unknown[];
  /** The rows a statement wrote, or returned. */
  readonly changes: number;
}

/**
 * A unit of work: a generator that yields the statements to run and receives each one's result. Written
 * this way so that one rule runs on either kind of driver: SQLite's runs it synchronously inside its
 * transaction (nothing else on the connection can interleave), PostgreSQL's awaits each statement.
 */
export type Work<T> = Generator<SqlStep, T, SqlResult>;

/**
 * `write` transactions are serialized against each other. `change` transactions write the change feed
 * too: they must also commit in the order their sequence numbers were allocated, so that a reader that
 * has seen number N has seen every number below it.
 */
export type TransactionKind = 'write' | 'change';

export interface CredentialRows {
  readonly client: ClientRow;
  readonly keys: readonly ApiKeyRow[];
  readonly revokedTokenIds: readonly string[];
}

export interface SqlDialect {
  /** Runs one statement on its own, outside any transaction. */
  query(step: SqlStep): Promise<SqlResult>;
  /** Runs `work` in one transaction: committed when it returns, rolled back when a statement fails. */
  transaction<T>(kind: TransactionKind, work: () => Work<T>): Promise<T>;
  /**
   * A client (deleted or not) with its keys not deleted and its revoked token ids, from one snapshot.
   * The credential directory loads these on a miss, on the request path: a dialect reads them as cheaply
   * as it can.
   */
  credentials(clientId: string): Promise<CredentialRows | undefined>;
  /**
   * Runs `touchKeys` with its one parameter, `used`. Frequent and large, and never on a request's path:
   * a dialect whose statements hold the event loop runs it elsewhere.
   */
  touchKeys(used: string): Promise<void>;
  close(): Promise<void>;
}

/** Runs one statement inside a unit of work. */
export function* run(statement: StatementName, params: readonly SqlValue[] = []): Work<SqlResult> {
  return yield { statement, params };
}

/** The first row a statement returns, as the row type the caller names. */
export function* first<R>(statement: StatementName, params: readonly SqlValue[]): Work<R | undefined> {
  return (yield* run(statement, params)).rows[0] as R | undefined;
}
