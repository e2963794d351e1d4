import { createIntrospector, listIntrospectors, revokeIntrospector } from '../admin/introspectors.js';
import { introspectorSummary } from '../admin/views.js';
import type { IntrospectorRecord } from '../domain/records.js';
import { FieldReader, readJsonObject } from './admin-input.js';
import type { AdminResource } from './router.js';

/** An introspector as the admin API shows it: by `name`, as its path names it; never its key. */
function introspectorView(introspector: IntrospectorRecord) {
  const { clientId, ...summary } = introspectorSummary(introspector);
  return { name: clientId, ...summary };
}

/** `/introspectors`: the same operations as `portcullis introspectors` (RFC 7662 §2.1 credentials). */
export const introspectorResources: readonly AdminResource[] = [
  {
    name: 'introspectors.list',
    method: 'GET',
    path: '/introspectors',
    role: 'viewer',
    async handle({ context }) {
      const introspectors = await listIntrospectors(context.store);
      return { status: 200, body: { data: introspectors.map(introspectorView) } };
    },
  },
  {
    name: 'introspectors.create',
    method: 'POST',
    path: '/introspectors',
    role: 'operator',
    async handle({ context, exchange }) {
      const fields = new FieldReader(await readJsonObject(exchange, ['name']));
      const name = fields.string('name', { required: true });
      fields.done();
      const created = await createIntrospector(context, name as string);
      // The key in clear, this once.
      return { status: 201, body: { ...introspectorView(created.introspector), apiKey: created.apiKey } };
    },
  },
  {
    // Revokes; the introspector stays listed as revoked, and its name is not reused.
    name: 'introspectors.revoke',
    method: 'DELETE',
    path: '/introspectors/{name}',
    role: 'operator',
    async handle({ context, params }) {
      const revoked = await revokeIntrospector(context.store, params.name as string);
      return { status: 200, body: introspectorView(revoked) };
    },
  },
];
