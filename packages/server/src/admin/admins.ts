import { type AdminRecord, type AdminRole, adminRoles } from '../domain/records.js';
import { generateAdminToken } from '../keys/admin-token.js';
import { hashApiKey } from '../keys/api-key.js';
import { isValidClientId } from '../keys/client-id.js';
import type { Store } from '../store/store.js';
import { type AdminContext, AdminError, printable } from './admin.js';

/**
 * A credential for the admin API: a name, which the audit trail records as the actor of its changes, a
 * role, and a token shown once. The store keeps only the token's HMAC under the server secret.
 */
export async function createAdmin(
  context: Pick<AdminContext, 'store' | 'serverSecret'>,
  name: string,
  role: string,
): Promise<{ readonly admin: AdminRecord; readonly token: string }> {
  if (!isValidClientId(name)) {
    throw new AdminError(
      'invalid',
      `invalid admin name "${printable(name)}": use the ClientId rules`,
      'name',
    );
  }
  if (!isAdminRole(role)) {
    throw new AdminError('invalid', `the role must be one of ${adminRoles.join(', ')}`, 'role');
  }
  const token = generateAdminToken();
  const admin: AdminRecord = {
    name,
    keyHash: hashApiKey(context.serverSecret, token),
    role,
    createdAt: Date.now(),
    revokedAt: null,
  };
  if (!(await context.store.createAdmin(admin)))
    throw new AdminError('conflict', `admin ${name} already exists`);
  return { admin, token };
}

export function listAdmins(store: Store): Promise<AdminRecord[]> {
  return store.listAdmins();
}

export async function revokeAdmin(store: Store, name: string): Promise<AdminRecord> {
  const admin = await store.revokeAdmin(name, Date.now());
  if (admin === undefined) throw new AdminError('not_found', `no admin "${printable(name)}"`);
  return admin;
}

function isAdminRole(role: string): role is AdminRole {
  return (adminRoles as readonly string[]).includes(role);
}
