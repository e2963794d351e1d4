import { API_KEY_PREFIX } from './api-key.js';

/**
 * ClientIds are chosen by the operator, as in MANGOPAY: 1 to 64 of `A-Za-z0-9_-`, unique regardless of
 * case (the store refuses `Acme` beside `acme`: upstreams may compare them case-insensitively). `oauth`,
 * in any case, is taken by the token endpoint's path, and ids that start like an API key are refused so
 * that a key pasted in the wrong field can never be mistaken for an id, and so never reaches a log as one.
 */
const CLIENT_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const RESERVED_CLIENT_IDS = new Set(['oauth']);

export function isValidClientId(clientId: string): boolean {
  return (
    CLIENT_ID_PATTERN.test(clientId) &&
    !RESERVED_CLIENT_IDS.has(clientId.toLowerCase()) &&
    !clientId.startsWith(API_KEY_PREFIX)
  );
}

/** The ClientId as it may appear in a log line: itself when valid, otherwise a placeholder. */
export function loggableClientId(clientId: string): string {
  return isValidClientId(clientId) ? clientId : '(invalid ClientId)';
}
