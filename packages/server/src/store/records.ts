import type { Environment } from '../keys/environment.js';

/** All times are Unix epoch milliseconds. */

export type ClientStatus = 'active' | 'disabled';

/** The editable part of a client, under MANGOPAY's field names (see api/client-resource.ts). */
export type ClientProfile = Readonly<Record<string, unknown>>;

export interface ClientRecord {
  readonly clientId: string;
  readonly name: string;
  readonly status: ClientStatus;
  /** Overrides the server's token lifetime for this client when set. */
  readonly tokenTtlSeconds: number | null;
  readonly profile: ClientProfile;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface ApiKeyRecord {
  readonly keyId: string;
  readonly clientId: string;
  readonly alias: string | null;
  /** HMAC-SHA256 of the key under the server secret, base64url. The key itself is never stored. */
  readonly keyHash: string;
  readonly environment: Environment;
  readonly createdAt: number;
  readonly expiresAt: number | null;
  readonly revokedAt: number | null;
  readonly lastUsedAt: number | null;
}

export interface NewClient {
  readonly clientId: string;
  readonly name: string;
  readonly tokenTtlSeconds: number | null;
  readonly createdAt: number;
}

export interface ClientUpdate {
  readonly name?: string;
  readonly status?: ClientStatus;
  readonly tokenTtlSeconds?: number | null;
  readonly profile?: ClientProfile;
}

/** A client with every one of its keys: what authentication needs, loaded in one read. */
export interface ClientCredentials {
  readonly client: ClientRecord;
  readonly keys: readonly ApiKeyRecord[];
}

export interface ChangeBatch {
  /** The highest change sequence number seen; pass it to the next `changesSince`. */
  readonly latest: number;
  /** Clients whose record or keys changed since the sequence number asked for. */
  readonly clientIds: readonly string[];
}

export function isKeyUsable(key: ApiKeyRecord, now: number): boolean {
  return key.revokedAt === null && (key.expiresAt === null || key.expiresAt > now);
}
