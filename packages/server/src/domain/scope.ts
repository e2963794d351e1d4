/**
 * What a key may do. `read` allows GET and HEAD; `write` allows every method (a write key also reads).
 * A token carries at most its key's scope, and less when the token request asks for less.
 */
export const keyScopes = ['read', 'write'] as const;
export type KeyScope = (typeof keyScopes)[number];

export function isKeyScope(value: string): value is KeyScope {
  return (keyScopes as readonly string[]).includes(value);
}

export function scopeAllowsMethod(scope: KeyScope, method: string | undefined): boolean {
  return scope === 'write' || method === 'GET' || method === 'HEAD';
}

/** The scope as OAuth states it (RFC 6749 §3.3, space-delimited): a write key also reads. */
export function scopeString(scope: KeyScope): string {
  return scope === 'write' ? 'read write' : 'read';
}

/**
 * The `scope` parameter of a token request (RFC 6749 §3.3): omitted means the key's whole scope; otherwise
 * space-delimited values from `read` and `write`, which must not exceed the key's. Undefined when the
 * request names an unknown scope or one the key lacks (RFC 6749 §5.2 `invalid_scope`).
 */
export function grantedScope(requested: string | undefined, keyScope: KeyScope): KeyScope | undefined {
  if (requested === undefined) return keyScope;
  const values = requested.split(' ');
  if (values.some((value) => !isKeyScope(value))) return undefined;
  const wanted: KeyScope = values.includes('write') ? 'write' : 'read';
  return wanted === 'write' && keyScope === 'read' ? undefined : wanted;
}
