import type { Environment } from './environment.js';
import type { KeyScope } from './scope.js';

// Every time in these records is in Unix epoch milliseconds.

export type ClientStatus = 'active' | 'disabled';

/** The editable part of a client, under MANGOPAY's field names (see api/client-resource.ts). */
export type ClientProfile = Readonly<Record<string, unknown>>;

export interface ClientRecord {
  readonly clientId: string;
  readonly name: string;
  readonly status: ClientStatus;
  /** Overrides the server's token lifetime for this client when set. */
  readonly tokenTtlSeconds: number | null;
  /** Overrides the server's API rate limits for this client when set (`COUNT/WINDOW,…` or `off`). */
  readonly rateLimits: string | null;
  readonly profile: ClientProfile;
  readonly createdAt: number;
  readonly updatedAt: number;
  /** When it was deleted: it then authenticates nothing and is listed nowhere; its ClientId stays taken. */
  readonly deletedAt: number | null;
}

export interface ApiKeyRecord {
  readonly keyId: string;
  readonly clientId: string;
  readonly alias: string | null;
  /** HMAC-SHA256 of the key under the server secret, base64url. The key itself is never stored. */
  readonly keyHash: string;
  readonly environment: Environment;
  readonly scope: KeyScope;
  readonly createdAt: number;
  readonly expiresAt: number | null;
  readonly revokedAt: number | null;
  readonly lastUsedAt: number | null;
  /** When the key was seen over plain HTTP, where anyone on the path could read it. */
  readonly exposedAt: number | null;
  /** The key that replaced this one in a rotation. */
  readonly replacedBy: string | null;
  /** When the key, or its client, was deleted: it then works nowhere and is listed nowhere. */
  readonly deletedAt: number | null;
}

export interface NewClient {
  readonly clientId: string;
  readonly name: string;
  readonly tokenTtlSeconds: number | null;
  readonly rateLimits: string | null;
  readonly createdAt: number;
}

export interface ClientUpdate {
  readonly name?: string;
  readonly status?: ClientStatus;
  readonly tokenTtlSeconds?: number | null;
  readonly rateLimits?: string | null;
  readonly profile?: ClientProfile;
}

/**
 * What a client update changed besides its status: each field's name (a profile field under MANGOPAY's
 * name) and its new value. None of them is secret, so the audit trail records them.
 */
export type ClientChanges = Readonly<Record<string, AuditValue>>;

/** A client with every one of its keys and revoked tokens: what authentication needs, in one read. */
export interface ClientCredentials {
  readonly client: ClientRecord;
  readonly keys: readonly ApiKeyRecord[];
  /** Ids of the client's tokens revoked before they expire (RFC 7009). */
  readonly revokedTokenIds: readonly string[];
}

/** A token revoked before it expires: kept until then, so that every node refuses it. */
export interface RevokedToken {
  readonly tokenId: string;
  readonly clientId: string;
  readonly keyId: string;
  readonly expiresAt: number;
}

/** A caller allowed to use the introspection endpoint (RFC 7662 §2.1): not a client, it calls no API. */
export interface IntrospectorRecord {
  readonly name: string;
  readonly keyHash: string;
  readonly createdAt: number;
  readonly revokedAt: number | null;
}

/** What an admin may do: an operator changes clients, keys and credentials; a viewer only reads. */
export const adminRoles = ['operator', 'viewer'] as const;
export type AdminRole = (typeof adminRoles)[number];

/** A credential for the admin API. Only the HMAC of its token is stored; the token is shown once. */
export interface AdminRecord {
  /** Named in the audit trail as the actor of the changes made with it. */
  readonly name: string;
  readonly keyHash: string;
  readonly role: AdminRole;
  readonly createdAt: number;
  readonly revokedAt: number | null;
}

/** A dashboard session as stored: the hash of its cookie's id, never the id. */
export interface AdminSessionRecord {
  readonly idHash: string;
  readonly adminName: string;
  /** What every change made in the session must carry (`X-CSRF-Token`). */
  readonly csrfToken: string;
  readonly createdAt: number;
  readonly expiresAt: number;
}

/** A session in force, with its admin as stored now (a revoked admin's sessions end with it). */
export interface ActiveAdminSession {
  readonly admin: AdminRecord;
  readonly csrfToken: string;
  readonly expiresAt: number;
}

export interface ChangeBatch {
  /** The highest change sequence number seen; pass it to the next `changesSince`. */
  readonly latest: number;
  /** Clients whose record, keys or revoked tokens changed since the sequence number asked for. */
  readonly clientIds: readonly string[];
}

/** A value in an audit entry's detail: plain JSON, never a secret. */
export type AuditValue =
  | string
  | number
  | boolean
  | null
  | readonly AuditValue[]
  | { readonly [name: string]: AuditValue };

/**
 * One entry of the audit trail. Events that can come in floods (tokens issued, failed authentications,
 * limits hit) are counted per minute rather than written one by one: `at` is then the minute's start.
 * Never holds a key, a token or an Authorization value: keys by id, tokens by fingerprint.
 */
export interface AuditEvent {
  readonly at: number;
  readonly type: AuditEventType;
  readonly clientId: string | null;
  readonly keyId: string | null;
  /** The source address, for events a request caused. */
  readonly source: string | null;
  readonly count: number;
  readonly detail: Readonly<Record<string, AuditValue>> | null;
  /**
   * Who made the change: an admin's name for a change made through the admin API, `cli` for one made
   * with the CLI; null for what the server records itself (failed authentications, limits hit…).
   */
  readonly actor: string | null;
}

/** An audit entry as read back: `id` orders entries and is the cursor of `AuditQuery.after`. */
export interface AuditEntry extends AuditEvent {
  readonly id: number;
}

export const auditEventTypes = [
  'client.created',
  'client.updated',
  'client.disabled',
  'client.enabled',
  'client.deleted',
  'key.created',
  'key.rotated',
  'key.revoked',
  'key.deleted',
  'key.expired',
  'key.exposed',
  'token.exposed',
  'token.revoked',
  'tokens.issued',
  'authentication.failed',
  'limit.rate',
  'limit.token',
  'limit.failed_authentication',
  'introspector.created',
  'introspector.revoked',
  'admin.created',
  'admin.revoked',
  'audit.pruned',
] as const;
export type AuditEventType = (typeof auditEventTypes)[number];

export interface AuditQuery {
  readonly clientId?: string;
  readonly type?: AuditEventType;
  /** Entries at or after this time. */
  readonly since?: number;
  /** Entries before this time (exclusive). */
  readonly until?: number;
  /**
   * A cursor: the next `limit` entries whose id is greater than this, in ascending id order. Without
   * it, the latest `limit` entries, oldest first.
   */
  readonly after?: number;
  /** A cursor the other way: the next `limit` entries whose id is less than this, newest first. */
  readonly before?: number;
  readonly limit: number;
}

/** One page of clients: by ClientId, after `after`, and with `prefix` those whose ClientId or name starts so. */
export interface ClientPage {
  readonly limit: number;
  readonly after?: string;
  readonly prefix?: string;
}

export function isKeyUsable(key: ApiKeyRecord, now: number): boolean {
  return key.revokedAt === null && key.deletedAt === null && (key.expiresAt === null || key.expiresAt > now);
}

/** How the audit trail and logs name a token: the first characters of its public id, never the token. */
export function tokenFingerprint(tokenId: string): string {
  return tokenId.slice(0, 12);
}
