import { createKey, listKeys, revokeKey, rotateKey } from '../admin/keys.js';
import { keySummary } from '../admin/views.js';
import type { ApiKeyRecord } from '../domain/records.js';
import { isKeyScope, type KeyScope } from '../domain/scope.js';
import { FieldReader, readJsonObject } from './admin-input.js';
import type { AdminResource } from './router.js';

/** The bounds of the CLI's `--expires-in-days` and `--grace-hours` (cli/keys.ts), and its default grace. */
const MAX_EXPIRES_IN_DAYS = 3650;
const MAX_GRACE_HOURS = 8760;
const DEFAULT_GRACE_HOURS = 24;

/** A key as the admin API shows it: the CLI's summary, never the key or its hash. */
const keyView = (key: ApiKeyRecord, now: number) => keySummary(key, now);

/** `/clients/{clientId}/keys…`: the same operations as `portcullis keys`. */
export const keyResources: readonly AdminResource[] = [
  {
    name: 'keys.list',
    method: 'GET',
    path: '/clients/{clientId}/keys',
    role: 'viewer',
    async handle({ context, exchange, params }) {
      const keys = await listKeys(context.store, params.clientId as string);
      return { status: 200, body: { data: keys.map((key) => keyView(key, exchange.now)) } };
    },
  },
  {
    name: 'keys.create',
    method: 'POST',
    path: '/clients/{clientId}/keys',
    role: 'operator',
    async handle({ context, exchange, params }) {
      const fields = new FieldReader(await readJsonObject(exchange, ['alias', 'scopes', 'expiresInDays']));
      const alias = fields.string('alias');
      const scope = readScope(fields);
      const expiresInDays = fields.integer('expiresInDays', 1, MAX_EXPIRES_IN_DAYS);
      fields.done();
      const created = await createKey(context, params.clientId as string, { alias, scope, expiresInDays });
      // The key in clear, this once: it is never shown again, nor logged.
      return { status: 201, body: { ...keyView(created.key, exchange.now), apiKey: created.apiKey } };
    },
  },
  {
    // 201: a new key is created; the old one keeps working for the grace period (0: stops now).
    name: 'keys.rotate',
    method: 'POST',
    path: '/clients/{clientId}/keys/{keyId}/rotate',
    role: 'operator',
    async handle({ context, exchange, params }) {
      const fields = new FieldReader(await readJsonObject(exchange, ['graceHours']));
      const graceHours = fields.integer('graceHours', 0, MAX_GRACE_HOURS) ?? DEFAULT_GRACE_HOURS;
      fields.done();
      const rotated = await rotateKey(context, params.clientId as string, params.keyId as string, graceHours);
      return {
        status: 201,
        body: {
          key: { ...keyView(rotated.key, exchange.now), apiKey: rotated.apiKey },
          old: keyView(rotated.old, exchange.now),
        },
      };
    },
  },
  {
    // Revokes (issue 13): the key stays listed as revoked, so that its history reads on. Deleting a key
    // stays a CLI operation. Revoking a revoked key changes nothing and answers the same.
    name: 'keys.revoke',
    method: 'DELETE',
    path: '/clients/{clientId}/keys/{keyId}',
    role: 'operator',
    async handle({ context, exchange, params }) {
      const { record } = await revokeKey(context.store, params.clientId as string, params.keyId as string);
      return { status: 200, body: keyView(record, exchange.now) };
    },
  },
];

/**
 * `scopes`: `read` or `write` as the CLI's `--scopes`, or as OAuth writes it (RFC 6749 §3.3,
 * space-delimited): `"read write"` is `write`, since a write key also reads. Default `write`.
 */
function readScope(fields: FieldReader): KeyScope | undefined {
  const text = fields.string('scopes');
  if (text === undefined) return undefined;
  const values = text.split(' ');
  if (!values.every(isKeyScope)) {
    fields.refuse('scopes', 'must be "read", "write" or "read write"');
    return undefined;
  }
  return values.includes('write') ? 'write' : 'read';
}
