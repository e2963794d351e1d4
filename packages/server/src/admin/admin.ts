import type { Environment } from '../domain/environment.js';
import type { ClientRecord } from '../domain/records.js';
import { ADMIN_TOKEN_PREFIX } from '../keys/admin-token.js';
import { API_KEY_PREFIX } from '../keys/api-key.js';
import { isValidClientId } from '../keys/client-id.js';
import type { Store } from '../store/store.js';

/**
 * What operators do to clients, keys, introspectors and the audit trail, in one layer that the CLI uses
 * (and an admin API can): each operation checks its input, then makes one store write, which appends the
 * audit entry and tells the servers of the change itself. API keys are returned in clear exactly once, at
 * creation; the store only ever sees their HMAC.
 */
export interface AdminContext {
  readonly store: Store;
  /** Keys the HMAC of new API keys. */
  readonly serverSecret: Buffer;
  /** The environment new API keys are made for. */
  readonly environment: Environment;
}

/**
 * Why an operation was refused: bad input, something that does not exist (or no longer does), or a
 * conflict with what exists (a taken name, a key that cannot be rotated). The admin API answers 400, 404
 * and 409 for them; the CLI prints the message.
 */
export type AdminErrorKind = 'invalid' | 'not_found' | 'conflict';

/** An operation refused, with a message for operators that never holds a secret. */
export class AdminError extends Error {
  override name = 'AdminError';
  readonly kind: AdminErrorKind;
  /** The input the problem is with, when it is one, so that each surface can name it its own way. */
  readonly field: string | undefined;

  constructor(kind: AdminErrorKind, message: string, field?: string) {
    super(message);
    this.kind = kind;
    this.field = field;
  }
}

const PRINTABLE_LABEL = /^[\x20-\x7e]{1,64}$/;

/** Names and aliases: 1 to 64 printable ASCII characters. */
export function checkLabel(what: 'name' | 'alias', value: string | undefined): void {
  if (value !== undefined && !PRINTABLE_LABEL.test(value)) {
    throw new AdminError('invalid', `the ${what} must be 1 to 64 printable ASCII characters`, what);
  }
}

/** The client, refused when there is none or it was deleted. */
export async function requireClient(store: Store, clientId: string): Promise<ClientRecord> {
  const client = await requireClientRecord(store, clientId);
  if (client.deletedAt !== null) {
    throw new AdminError(
      'not_found',
      `client ${client.clientId} was deleted at ${new Date(client.deletedAt).toISOString()}; its ClientId is never reused`,
    );
  }
  return client;
}

/** The client, deleted or not, refused when there is none: for operations that act on a deleted one too. */
export async function requireClientRecord(store: Store, clientId: string): Promise<ClientRecord> {
  const client = isValidClientId(clientId) ? await store.getClient(clientId) : undefined;
  if (client === undefined) throw new AdminError('not_found', `no client "${printable(clientId)}"`);
  return client;
}

/** Operator input echoed in an error: cut short, control characters replaced, never a key or admin token. */
export function printable(value: string): string {
  if (value.startsWith(API_KEY_PREFIX)) return '(an API key, not shown)';
  if (value.startsWith(ADMIN_TOKEN_PREFIX)) return '(an admin token, not shown)';
  return value.replace(/[^\x20-\x7e]/g, '?').slice(0, 64);
}
