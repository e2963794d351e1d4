import type { ApiKeyRecord, NewClient } from '../../src/domain/records.js';

/**
 * A stored API key as the store returns it: a usable `write` key, created at time 0, with `overrides`.
 * One place for the record's shape, so that a field added to it is added to every fixture.
 */
export function apiKeyRecord(
  overrides: Pick<ApiKeyRecord, 'keyId' | 'clientId'> & Partial<ApiKeyRecord>,
): ApiKeyRecord {
  return {
    alias: null,
    keyHash: '',
    environment: 'sandbox',
    scope: 'write',
    createdAt: 0,
    expiresAt: null,
    revokedAt: null,
    lastUsedAt: null,
    exposedAt: null,
    replacedBy: null,
    deletedAt: null,
    ...overrides,
  };
}

/** A client to create: named after its ClientId, the server's defaults, created at time 0, with `overrides`. */
export function newClient(overrides: Pick<NewClient, 'clientId'> & Partial<NewClient>): NewClient {
  return { name: overrides.clientId, tokenTtlSeconds: null, rateLimits: null, createdAt: 0, ...overrides };
}
