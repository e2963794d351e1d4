import type { IntrospectorRecord } from '../domain/records.js';
import { generateApiKey, hashApiKey } from '../keys/api-key.js';
import { isValidClientId } from '../keys/client-id.js';
import type { Store } from '../store/store.js';
import { type AdminContext, AdminError, printable } from './admin.js';

/**
 * An introspection credential (RFC 7662 §2.1): a name to send as the Basic user name and an API key,
 * shown once. It can only introspect tokens; it is not a client and calls no API.
 */
export async function createIntrospector(
  context: AdminContext,
  name: string,
): Promise<{ readonly introspector: IntrospectorRecord; readonly apiKey: string }> {
  if (!isValidClientId(name)) {
    throw new AdminError(
      'invalid',
      `invalid introspector name "${printable(name)}": use the ClientId rules`,
      'name',
    );
  }
  const apiKey = generateApiKey(context.environment);
  const introspector: IntrospectorRecord = {
    name,
    keyHash: hashApiKey(context.serverSecret, apiKey),
    createdAt: Date.now(),
    revokedAt: null,
  };
  if (!(await context.store.createIntrospector(introspector))) {
    throw new AdminError('conflict', `introspector ${name} already exists`);
  }
  return { introspector, apiKey };
}

export function listIntrospectors(store: Store): Promise<IntrospectorRecord[]> {
  return store.listIntrospectors();
}

export async function revokeIntrospector(store: Store, name: string): Promise<IntrospectorRecord> {
  const introspector = await store.revokeIntrospector(name, Date.now());
  if (introspector === undefined) throw new AdminError('not_found', `no introspector "${printable(name)}"`);
  return introspector;
}
