import type {
  ActiveAdminSession,
  AdminRecord,
  AdminSessionRecord,
  ApiKeyRecord,
  AuditEntry,
  AuditEvent,
  AuditQuery,
  AuditValue,
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
import { isKeyUsable } from '../domain/records.js';
import * as audit from './audit-entries.js';
import {
  type AdminRow,
  type ApiKeyRow,
  type AuditRow,
  type ClientRow,
  type IntrospectorRow,
  toAdmin,
  toApiKey,
  toAuditEvent,
  toClient,
  toIntrospector,
} from './rows.js';
import { first, run, type SqlDialect, type SqlValue, type StatementName, type Work } from './sql-dialect.js';
import type {
  ChangeListener,
  ClientUpdateOutcome,
  CredentialRehash,
  Outcome,
  ServerSecretState,
  Store,
} from './store.js';

/** Inside a change transaction: records that a client changed, with its audit entry. */
type RecordChange = (entry: audit.ClientChangeEntry) => Work<void>;

/**
 * The store's business rules, written once over a SQL dialect: what each change reads and writes, which
 * change-feed row and audit entry it leaves, and whom to tell once it has committed. The dialect brings
 * the SQL text, the transactions and the locking.
 */
export class SqlStore implements Store {
  readonly #dialect: SqlDialect;
  readonly #listeners: ChangeListener[];
  /** Stamped on the audit entries this view appends (`actingAs`); null on the store itself. */
  readonly #actor: string | null;

  /** `actor` and `listeners` are for `actingAs`: a view shares the store's dialect and listeners. */
  constructor(dialect: SqlDialect, actor: string | null = null, listeners: ChangeListener[] = []) {
    this.#dialect = dialect;
    this.#actor = actor;
    this.#listeners = listeners;
  }

  onChange(listener: ChangeListener): void {
    this.#listeners.push(listener);
  }

  actingAs(actor: string): Store {
    return new SqlStore(this.#dialect, actor, this.#listeners);
  }

  /**
   * Runs `work` in a change transaction. Once it has committed, and only if it recorded a change, the
   * listeners hear which clients changed: a write that found nothing to change announces nothing.
   */
  async #change<T>(work: (changed: RecordChange) => Work<T>): Promise<T> {
    const clientIds = new Set<string>();
    const actor = this.#actor;
    const result = await this.#dialect.transaction('change', () =>
      work(function* (entry) {
        yield* run('insertChange', [entry.clientId, entry.at]);
        yield* insertAudit(entry, actor);
        clientIds.add(entry.clientId);
      }),
    );
    if (clientIds.size > 0) {
      const changed = [...clientIds];
      for (const listener of this.#listeners) listener(changed);
    }
    return result;
  }

  async #rows<R>(statement: StatementName, params: readonly SqlValue[] = []): Promise<R[]> {
    return (await this.#dialect.query({ statement, params })).rows as R[];
  }

  async createClient(client: NewClient): Promise<ClientRecord | undefined> {
    return this.#change(function* (changed) {
      const row = yield* first<ClientRow>('insertClient', [
        client.clientId,
        client.name,
        client.tokenTtlSeconds,
        client.rateLimits,
        client.createdAt,
      ]);
      if (row === undefined) return undefined;
      yield* changed(audit.clientCreated(client.clientId, client.createdAt));
      return toClient(row);
    });
  }

  async getClient(clientId: string): Promise<ClientRecord | undefined> {
    const [row] = await this.#rows<ClientRow>('selectClient', [clientId]);
    return row && toClient(row);
  }

  async listClients(page?: ClientPage): Promise<ClientRecord[]> {
    if (page === undefined) return (await this.#rows<ClientRow>('selectClients')).map(toClient);
    const params = [page.limit, page.after ?? '', page.prefix ?? null];
    return (await this.#rows<ClientRow>('selectClientsPage', params)).map(toClient);
  }

  async updateClient(clientId: string, update: ClientUpdate, now: number): Promise<ClientRecord | undefined> {
    return (await this.changeClient(clientId, update, now))?.record;
  }

  /**
   * Merges `update` into the client: a field left undefined keeps its value. An update that changes
   * nothing writes nothing: no audit entry, no change-feed row.
   */
  async changeClient(
    clientId: string,
    update: ClientUpdate,
    now: number,
  ): Promise<ClientUpdateOutcome | undefined> {
    return this.#change(function* (changed) {
      const row = yield* first<ClientRow>('selectClientForChange', [clientId]);
      if (row === undefined || row.deleted_at !== null) return undefined;
      const current = toClient(row);
      const next: EditableClient = {
        name: update.name ?? current.name,
        tokenTtlSeconds:
          update.tokenTtlSeconds === undefined ? current.tokenTtlSeconds : update.tokenTtlSeconds,
        rateLimits: update.rateLimits === undefined ? current.rateLimits : update.rateLimits,
        profile: update.profile ?? current.profile,
      };
      const status = update.status ?? current.status;
      const fields = changedFields(current, next);
      if (status === current.status && Object.keys(fields).length === 0) {
        return { record: current, changed: false, fields };
      }
      const updated = yield* first<ClientRow>('updateClient', [
        clientId,
        next.name,
        status,
        next.tokenTtlSeconds,
        next.rateLimits,
        JSON.stringify(next.profile),
        now,
      ]);
      yield* changed(audit.clientUpdated(clientId, current.status, status, fields, now));
      return { record: toClient(updated as ClientRow), changed: true, fields };
    });
  }

  async createApiKey(key: ApiKeyRecord): Promise<void> {
    await this.#change(function* (changed) {
      yield* insertKey(key);
      yield* changed(audit.keyCreated(key));
    });
  }

  async listApiKeys(clientId: string): Promise<ApiKeyRecord[]> {
    return (await this.#rows<ApiKeyRow>('selectKeysOfClient', [clientId])).map(toApiKey);
  }

  async findKeyByHash(keyHash: string): Promise<ApiKeyRecord | undefined> {
    const [row] = await this.#rows<ApiKeyRow>('selectKeyByHash', [keyHash]);
    return row && toApiKey(row);
  }

  async revokeApiKey(
    clientId: string,
    keyId: string,
    now: number,
  ): Promise<Outcome<ApiKeyRecord> | undefined> {
    return this.#change(function* (changed) {
      const row = yield* first<ApiKeyRow>('selectKeyForChange', [keyId, clientId]);
      if (row === undefined || row.deleted_at !== null) return undefined;
      if (row.revoked_at !== null) return { record: toApiKey(row), changed: false };
      yield* changed(audit.keyRevoked(clientId, keyId, now));
      const revoked = (yield* first<ApiKeyRow>('revokeKey', [keyId, now])) as ApiKeyRow;
      return { record: toApiKey(revoked), changed: true };
    });
  }

  async rotateApiKey(
    clientId: string,
    keyId: string,
    replacement: ApiKeyRecord,
    oldEndsAt: number,
    now: number,
  ): Promise<{ readonly old: ApiKeyRecord; readonly replacement: ApiKeyRecord } | undefined> {
    return this.#change(function* (changed) {
      const row = yield* first<ApiKeyRow>('selectKeyForChange', [keyId, clientId]);
      if (row === undefined || !isKeyUsable(toApiKey(row), now)) return undefined;
      yield* insertKey(replacement);
      const old =
        oldEndsAt <= now
          ? yield* first<ApiKeyRow>('endKeyNow', [keyId, now, replacement.keyId])
          : yield* first<ApiKeyRow>('endKeyAt', [keyId, oldEndsAt, replacement.keyId]);
      yield* changed(audit.keyRotated(clientId, keyId, replacement.keyId, oldEndsAt, now));
      return { old: toApiKey(old as ApiKeyRow), replacement };
    });
  }

  async markKeyExposed(clientId: string, keyId: string, now: number, revoke: boolean): Promise<void> {
    const actor = this.#actor;
    await this.#change(function* (changed) {
      const row = yield* first<ApiKeyRow>('selectKeyForChange', [keyId, clientId]);
      if (row === undefined || row.deleted_at !== null) return;
      yield* run('exposeKey', [keyId, now]);
      yield* changed(audit.keyExposed(clientId, keyId, revoke, now));
      if (revoke && row.revoked_at === null) {
        yield* run('revokeKey', [keyId, now]);
        yield* insertAudit(audit.keyRevoked(clientId, keyId, now, 'exposed'), actor);
      }
    });
  }

  async recordExpiredKeys(now: number): Promise<void> {
    const actor = this.#actor;
    await this.#dialect.transaction('write', function* () {
      const { rows } = yield* run('markExpiredKeys', [now]);
      for (const row of rows as { key_id: string; client_id: string; expires_at: number }[]) {
        yield* insertAudit(audit.keyExpired(row.client_id, row.key_id, row.expires_at), actor);
      }
    });
  }

  async recordKeyUse(lastUsedByKeyId: ReadonlyMap<string, number>): Promise<void> {
    if (lastUsedByKeyId.size === 0) return;
    const used = [...lastUsedByKeyId].map(([keyId, at]) => ({ key_id: keyId, at }));
    await this.#dialect.touchKeys(JSON.stringify(used));
  }

  async getClientCredentials(clientId: string): Promise<ClientCredentials | undefined> {
    const rows = await this.#dialect.credentials(clientId);
    // A deleted client is no client: read through, it must never come back as one that authenticates.
    if (rows === undefined || rows.client.deleted_at !== null) return undefined;
    return {
      client: toClient(rows.client),
      keys: rows.keys.map(toApiKey),
      revokedTokenIds: [...rows.revokedTokenIds],
    };
  }

  async revokeToken(token: RevokedToken, now: number, reason: 'revoked' | 'exposed'): Promise<void> {
    await this.#change(function* (changed) {
      const { changes } = yield* run('insertRevokedToken', [
        token.tokenId,
        token.clientId,
        token.keyId,
        token.expiresAt,
        now,
      ]);
      if (changes === 0) return;
      yield* changed(audit.tokenRevoked(token, reason, now));
    });
  }

  async deleteClient(clientId: string, now: number): Promise<Outcome<ClientRecord> | undefined> {
    return this.#change(function* (changed) {
      const row = yield* first<ClientRow>('selectClientForChange', [clientId]);
      if (row === undefined) return undefined;
      if (row.deleted_at !== null) return { record: toClient(row), changed: false };
      const { changes: keys } = yield* run('deleteKeysOfClient', [clientId, now]);
      const deleted = (yield* first<ClientRow>('deleteClient', [clientId, now])) as ClientRow;
      yield* changed(audit.clientDeleted(clientId, keys, now));
      return { record: toClient(deleted), changed: true };
    });
  }

  async deleteApiKey(
    clientId: string,
    keyId: string,
    now: number,
  ): Promise<Outcome<ApiKeyRecord> | undefined> {
    return this.#change(function* (changed) {
      const row = yield* first<ApiKeyRow>('selectKeyForChange', [keyId, clientId]);
      if (row === undefined) return undefined;
      if (row.deleted_at !== null) return { record: toApiKey(row), changed: false };
      const deleted = (yield* first<ApiKeyRow>('deleteKey', [keyId, now])) as ApiKeyRow;
      yield* changed(audit.keyDeleted(clientId, keyId, now));
      return { record: toApiKey(deleted), changed: true };
    });
  }

  async createIntrospector(introspector: IntrospectorRecord): Promise<boolean> {
    const actor = this.#actor;
    return this.#dialect.transaction('write', function* () {
      const { name, keyHash, createdAt } = introspector;
      const { changes } = yield* run('insertIntrospector', [name, keyHash, createdAt]);
      if (changes === 0) return false;
      yield* insertAudit(audit.introspectorCreated(name, createdAt), actor);
      return true;
    });
  }

  async listIntrospectors(): Promise<IntrospectorRecord[]> {
    return (await this.#rows<IntrospectorRow>('selectIntrospectors')).map(toIntrospector);
  }

  async findIntrospector(keyHash: string): Promise<IntrospectorRecord | undefined> {
    const [row] = await this.#rows<IntrospectorRow>('selectIntrospectorByHash', [keyHash]);
    return row && toIntrospector(row);
  }

  async revokeIntrospector(name: string, now: number): Promise<IntrospectorRecord | undefined> {
    const actor = this.#actor;
    return this.#dialect.transaction('write', function* () {
      const revoked = yield* first<IntrospectorRow>('revokeIntrospector', [name, now]);
      if (revoked !== undefined) {
        yield* insertAudit(audit.introspectorRevoked(name, now), actor);
        return toIntrospector(revoked);
      }
      const row = yield* first<IntrospectorRow>('selectIntrospector', [name]);
      return row && toIntrospector(row);
    });
  }

  async createAdmin(admin: AdminRecord): Promise<boolean> {
    const actor = this.#actor;
    return this.#dialect.transaction('write', function* () {
      const { name, keyHash, role, createdAt } = admin;
      const { changes } = yield* run('insertAdmin', [name, keyHash, role, createdAt]);
      if (changes === 0) return false;
      yield* insertAudit(audit.adminCreated(name, role, createdAt), actor);
      return true;
    });
  }

  async listAdmins(): Promise<AdminRecord[]> {
    return (await this.#rows<AdminRow>('selectAdmins')).map(toAdmin);
  }

  async findAdmin(keyHash: string): Promise<AdminRecord | undefined> {
    const [row] = await this.#rows<AdminRow>('selectAdminByHash', [keyHash]);
    return row && toAdmin(row);
  }

  async revokeAdmin(name: string, now: number): Promise<AdminRecord | undefined> {
    const actor = this.#actor;
    return this.#dialect.transaction('write', function* () {
      const revoked = yield* first<AdminRow>('revokeAdmin', [name, now]);
      if (revoked !== undefined) {
        yield* insertAudit(audit.adminRevoked(name, now), actor);
        return toAdmin(revoked);
      }
      const row = yield* first<AdminRow>('selectAdmin', [name]);
      return row && toAdmin(row);
    });
  }

  async createAdminSession(session: AdminSessionRecord): Promise<void> {
    const { idHash, adminName, csrfToken, createdAt, expiresAt } = session;
    await this.#dialect.transaction('write', function* () {
      yield* run('insertAdminSession', [idHash, adminName, csrfToken, createdAt, expiresAt]);
    });
  }

  async findAdminSession(idHash: string, now: number): Promise<ActiveAdminSession | undefined> {
    const [row] = await this.#rows<AdminRow & { csrf_token: string; expires_at: number | string }>(
      'selectAdminSession',
      [idHash, now],
    );
    if (row === undefined) return undefined;
    return { admin: toAdmin(row), csrfToken: row.csrf_token, expiresAt: Number(row.expires_at) };
  }

  async endAdminSession(idHash: string, now: number): Promise<boolean> {
    return this.#dialect.transaction('write', function* () {
      const { changes } = yield* run('endAdminSession', [idHash, now]);
      return changes > 0;
    });
  }

  async appendAuditEvents(events: readonly AuditEvent[]): Promise<void> {
    const actor = this.#actor;
    await this.#dialect.transaction('write', function* () {
      for (const entry of events) yield* insertAudit(entry, actor);
    });
  }

  async readAudit(query: AuditQuery): Promise<AuditEntry[]> {
    const since = query.since ?? 0;
    const clientId = query.clientId ?? null;
    const type = query.type ?? null;
    const until = query.until ?? null;
    const filters = [since, clientId, type, until, query.limit];
    const rows =
      query.after !== undefined
        ? await this.#rows<AuditRow>('selectAuditAfter', [query.after, ...filters])
        : query.before !== undefined
          ? await this.#rows<AuditRow>('selectAuditBefore', [query.before, ...filters])
          : await this.#rows<AuditRow>('selectAudit', [since, clientId, query.limit, type, until]);
    return rows.map(toAuditEvent);
  }

  /**
   * A batch per transaction, with a pause between them: in one transaction, pruning 2 000 000 entries
   * held SQLite's write lock 3.7 s, and a server's write on the same file waited as long with its event
   * loop held (issue 15). Counted first, outside any write, and recorded with the first batch, so that a
   * prune stopped half-way is in the trail still; running it again records and removes the rest.
   */
  async pruneAudit(before: number, now: number): Promise<number> {
    const actor = this.#actor;
    const [counted] = await this.#rows<{ count: number }>('countAuditBefore', [before]);
    const entry = audit.auditPruned(before, counted?.count ?? 0, now);
    return this.#deleteInBatches(
      AUDIT_PRUNED_PER_STATEMENT,
      () => new Promise((resolve) => setTimeout(resolve, AUDIT_PRUNE_PAUSE_MS)),
      function* (batch) {
        if (batch === 0) yield* insertAudit(entry, actor);
        yield* run('openAuditPrune', [before]);
        const { changes } = yield* run('deleteAuditBefore', [before, AUDIT_PRUNED_PER_STATEMENT]);
        yield* run('closeAuditPrune');
        return changes;
      },
    );
  }

  async pruneChanges(before: number): Promise<void> {
    // Oldest first, a batch per statement with the event loop free between them: a million clients made
    // in one go leave a million change records, which one SQLite statement took 180 ms to delete, holding
    // every request (batches of 1,000: at most 9 ms each, twice the time in all).
    await this.#deleteInBatches(
      CHANGES_PRUNED_PER_STATEMENT,
      () => new Promise((resolve) => setImmediate(resolve)),
      function* () {
        const { changes } = yield* run('deleteOldChanges', [before, CHANGES_PRUNED_PER_STATEMENT]);
        return changes;
      },
    );
    await this.#dialect.transaction('write', function* () {
      yield* run('deleteExpiredRevokedTokens', [before]);
      yield* run('deleteEndedAdminSessions', [before]);
    });
  }

  /**
   * Runs `batch` (number `index`, from 0), a write transaction deleting at most `perStatement` rows and
   * answering how many, until one deletes fewer, awaiting `pause` between them. Answers how many in all.
   */
  async #deleteInBatches(
    perStatement: number,
    pause: () => Promise<unknown>,
    batch: (index: number) => Work<number>,
  ): Promise<number> {
    let deleted = 0;
    for (let index = 0; ; index++) {
      const count = await this.#dialect.transaction('write', () => batch(index));
      deleted += count;
      if (count < perStatement) return deleted;
      await pause();
    }
  }

  async latestChange(): Promise<number> {
    return ((await this.#rows<{ latest: number }>('latestChange'))[0] as { latest: number }).latest;
  }

  async changesSince(sequence: number): Promise<ChangeBatch> {
    const rows = await this.#rows<{ sequence: number; client_id: string }>('changesSince', [sequence]);
    const last = rows.at(-1);
    return {
      latest: last === undefined ? sequence : last.sequence,
      clientIds: [...new Set(rows.map((row) => row.client_id))],
    };
  }

  async serverSecretState(): Promise<ServerSecretState> {
    const rows = await this.#rows<{ fingerprint: string; state: 'current' | 'retired' }>(
      'selectServerSecrets',
    );
    return {
      current: rows.find((row) => row.state === 'current')?.fingerprint,
      retired: rows.filter((row) => row.state === 'retired').map((row) => row.fingerprint),
      holdsClients: (await this.#rows('selectAnyClient')).length > 0,
    };
  }

  async recordServerSecret(fingerprint: string, expected: string | undefined, now: number): Promise<boolean> {
    return this.#dialect.transaction('write', function* () {
      // The retiring update takes the row's lock (PostgreSQL), so of two nodes rotating at once the second
      // finds nothing current to retire; with none yet, the one-current index makes the second insert nothing.
      if (expected !== undefined && (yield* run('retireServerSecret', [expected, now])).changes === 0) {
        return false;
      }
      if ((yield* run('insertServerSecret', [fingerprint, now])).changes > 0) return true;
      if (expected === undefined) return false;
      // Rolls the retirement back: a retired secret never becomes current again.
      throw new Error(`the server secret ${fingerprint} was retired by an earlier rotation`);
    });
  }

  async rehashCredentials(rehashes: readonly CredentialRehash[]): Promise<number> {
    if (rehashes.length === 0) return 0;
    return this.#dialect.transaction('write', function* () {
      let moved = 0;
      for (const { kind, id, fromHash, toHash } of rehashes) {
        const statement = REHASH_STATEMENTS[kind];
        moved += (yield* run(statement, [id, fromHash, toHash])).changes;
      }
      return moved;
    });
  }

  async schemaVersion(): Promise<number> {
    return ((await this.#rows<{ version: number }>('schemaVersion'))[0] as { version: number }).version;
  }

  close(): Promise<void> {
    return this.#dialect.close();
  }
}

/** Change records deleted per statement when old ones are pruned. */
const CHANGES_PRUNED_PER_STATEMENT = 1000;

/**
 * Audit entries deleted per transaction when the trail is pruned (about 8 ms with SQLite), and the pause
 * after each, long enough for a writer waiting on SQLite's lock (its busy handler retries up to every
 * 100 ms) to get it in between.
 */
const AUDIT_PRUNED_PER_STATEMENT = 5000;
const AUDIT_PRUNE_PAUSE_MS = 25;

const REHASH_STATEMENTS = {
  key: 'rehashKey',
  introspector: 'rehashIntrospector',
  admin: 'rehashAdmin',
} as const satisfies Record<CredentialRehash['kind'], StatementName>;

type EditableClient = Pick<ClientRecord, 'name' | 'tokenTtlSeconds' | 'rateLimits' | 'profile'>;

/**
 * The fields that differ between `current` and `next`, with their new values; a profile field that
 * `next` lacks is null. Profile values are compared as JSON, whatever the order of their members.
 */
function changedFields(current: EditableClient, next: EditableClient): ClientChanges {
  const fields: Record<string, AuditValue> = {};
  for (const name of ['name', 'tokenTtlSeconds', 'rateLimits'] as const) {
    if (next[name] !== current[name]) fields[name] = next[name];
  }
  for (const name of new Set([...Object.keys(current.profile), ...Object.keys(next.profile)])) {
    // Profile values were checked as JSON on their way in (api/client-resource.ts).
    const value = (next.profile[name] ?? null) as AuditValue;
    if (canonicalJson(value) !== canonicalJson(current.profile[name] ?? null)) fields[name] = value;
  }
  return fields;
}

/** JSON with every object's members in name order, so that equal values give equal text. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const members = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${members.map(([name, member]) => `${JSON.stringify(name)}:${canonicalJson(member)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function* insertKey(key: ApiKeyRecord): Work<void> {
  yield* run('insertKey', [
    key.keyId,
    key.clientId,
    key.alias,
    key.keyHash,
    key.environment,
    key.scope,
    key.createdAt,
    key.expiresAt,
  ]);
}

/** The entry's own actor if it names one, else the writing view's (`Store.actingAs`). */
function* insertAudit(event: AuditEvent, actor: string | null): Work<void> {
  yield* run('insertAudit', [
    event.at,
    event.type,
    event.clientId,
    event.keyId,
    event.source,
    event.count,
    event.detail === null ? null : JSON.stringify(event.detail),
    event.actor ?? actor,
  ]);
}
