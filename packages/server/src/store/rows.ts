import type { Environment } from '../domain/environment.js';
import type {
  AdminRecord,
  AdminRole,
  ApiKeyRecord,
  AuditEntry,
  AuditEvent,
  AuditEventType,
  ClientRecord,
  ClientStatus,
  IntrospectorRecord,
} from '../domain/records.js';
import type { KeyScope } from '../domain/scope.js';

/**
 * Rows as both SQL stores return them (same column names), and their records. SQLite hands JSON
 * columns over as text, PostgreSQL as parsed values; both are accepted.
 */

type Json<T> = string | T;

export interface ClientRow {
  client_id: string;
  name: string;
  status: string;
  token_ttl_seconds: number | null;
  rate_limits: string | null;
  profile: Json<Record<string, unknown>>;
  created_at: number;
  updated_at: number;
  deleted_at: number | null;
}

export interface ApiKeyRow {
  key_id: string;
  client_id: string;
  alias: string | null;
  key_hash: string;
  environment: string;
  scope: string;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  last_used_at: number | null;
  exposed_at: number | null;
  replaced_by: string | null;
  deleted_at: number | null;
}

export interface IntrospectorRow {
  name: string;
  key_hash: string;
  created_at: number;
  revoked_at: number | null;
}

export interface AdminRow {
  name: string;
  key_hash: string;
  role: string;
  created_at: number;
  revoked_at: number | null;
}

export interface AuditRow {
  id: number;
  actor: string | null;
  at: number;
  type: string;
  client_id: string | null;
  key_id: string | null;
  source: string | null;
  count: number;
  detail: Json<AuditEvent['detail']>;
}

export function toClient(row: ClientRow): ClientRecord {
  return {
    clientId: row.client_id,
    name: row.name,
    status: row.status as ClientStatus,
    tokenTtlSeconds: row.token_ttl_seconds,
    rateLimits: row.rate_limits,
    profile: parsed(row.profile),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    deletedAt: row.deleted_at,
  };
}

export function toApiKey(row: ApiKeyRow): ApiKeyRecord {
  return {
    keyId: row.key_id,
    clientId: row.client_id,
    alias: row.alias,
    keyHash: row.key_hash,
    environment: row.environment as Environment,
    scope: row.scope as KeyScope,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    lastUsedAt: row.last_used_at,
    exposedAt: row.exposed_at,
    replacedBy: row.replaced_by,
    deletedAt: row.deleted_at,
  };
}

export function toIntrospector(row: IntrospectorRow): IntrospectorRecord {
  return { name: row.name, keyHash: row.key_hash, createdAt: row.created_at, revokedAt: row.revoked_at };
}

export function toAdmin(row: AdminRow): AdminRecord {
  return {
    name: row.name,
    keyHash: row.key_hash,
    role: row.role as AdminRole,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
  };
}

export function toAuditEvent(row: AuditRow): AuditEntry {
  return {
    id: row.id,
    at: row.at,
    type: row.type as AuditEventType,
    clientId: row.client_id,
    keyId: row.key_id,
    source: row.source,
    count: row.count,
    detail: parsed(row.detail),
    actor: row.actor,
  };
}

function parsed<T>(value: Json<T>): T {
  return typeof value === 'string' ? (JSON.parse(value) as T) : value;
}
