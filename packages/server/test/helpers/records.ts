import type { ApiKeyRecord } from '../../src/domain/records.js';

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
