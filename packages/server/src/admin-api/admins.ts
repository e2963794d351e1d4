import { AdminError } from '../admin/admin.js';
import { createAdmin, listAdmins, revokeAdmin } from '../admin/admins.js';
import { adminSummary } from '../admin/views.js';
import { FieldReader, readJsonObject } from './admin-input.js';
import type { AdminResource } from './router.js';

/** What `portcullis admins create` gives when no `--role` is named. */
const DEFAULT_ROLE = 'operator';

/**
 * `/admins`: the same operations as `portcullis admins`, for operators only, reads included: the list of
 * who may change what is itself worth keeping from a viewer.
 */
export const adminResources: readonly AdminResource[] = [
  {
    name: 'admins.list',
    method: 'GET',
    path: '/admins',
    role: 'operator',
    async handle({ context }) {
      const admins = await listAdmins(context.store);
      return { status: 200, body: { data: admins.map(adminSummary) } };
    },
  },
  {
    name: 'admins.create',
    method: 'POST',
    path: '/admins',
    role: 'operator',
    async handle({ context, exchange }) {
      const fields = new FieldReader(await readJsonObject(exchange, ['name', 'role']));
      const name = fields.string('name', { required: true });
      const role = fields.string('role');
      fields.done();
      const created = await createAdmin(context, name as string, role ?? DEFAULT_ROLE);
      // The token in clear, this once.
      return { status: 201, body: { ...adminSummary(created.admin), token: created.token } };
    },
  },
  {
    // An admin may not revoke itself: so the API always leaves at least one operator (the caller), and
    // the last one can only be revoked with the CLI, which needs access to the store.
    name: 'admins.revoke',
    method: 'DELETE',
    path: '/admins/{name}',
    role: 'operator',
    async handle({ admin, context, params }) {
      const name = params.name as string;
      if (name.toLowerCase() === admin.name.toLowerCase()) {
        throw new AdminError(
          'conflict',
          'an admin cannot revoke itself: ask another operator, or use `portcullis admins revoke`',
        );
      }
      const revoked = await revokeAdmin(context.store, name);
      return { status: 200, body: adminSummary(revoked) };
    },
  },
];
