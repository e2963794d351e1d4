import { describe, expect, it } from 'vitest';
import { PortcullisError } from '../src/errors.js';
import { RouteTable, routes } from '../src/http/routes.js';

// The route table needs no TLS port: which row a request target reaches, and in which error shape it is
// answered, is decided before any I/O. What each row then does is the behaviour suite's business.
const table = new RouteTable(routes(undefined), 'public');

function apiRouteOf(target: string): string {
  const [path = '', query = ''] = target.split('?');
  return table.api(path, query).route.name;
}

function refusalOf(target: string): string | undefined {
  try {
    apiRouteOf(target);
    return undefined;
  } catch (error) {
    return error instanceof PortcullisError ? error.code : String(error);
  }
}

describe('route table', () => {
  it.each([
    ['/v2.01/oauth/token', 'token'],
    ['/v2.01/oauth/token/', 'token'],
    ['/V2_01/oauth/token', 'token'],
    ['/V2_01/oauth/token/', 'token'],
    ['/v2.01/oauth/revoke', 'revocation'],
    ['/v2.01/oauth/introspect/', 'introspection'],
  ])('serves %s by the %s endpoint, answering errors as RFC 6749 §5.2', (path, name) => {
    const route = table.fixed(path);
    expect(route?.name).toBe(name);
    expect(route?.errors).toBe('oauth');
  });

  it.each(['/forward-auth', '/forward-auth/', '/forward-auth/v2.01/acme/users', '/forward-auth//x'])(
    'serves %s by forward-auth (Envoy puts the original path after it), answering errors in MANGOPAY’s shape',
    (path) => {
      const route = table.fixed(path);
      expect(route?.name).toBe('forward-auth');
      expect(route?.errors).toBe('mangopay');
    },
  );

  it.each([
    ['/healthz', 'healthz'],
    ['/readyz/', 'readyz'],
  ])(
    'serves %s by the %s health check, on the public listener and (once built) the admin one',
    (path, name) => {
      expect(table.fixed(path)?.name).toBe(name);
      expect(table.fixed(path)?.probe).toBe(true);
      expect(new RouteTable(routes(undefined), 'admin').fixed(path)?.name).toBe(name);
    },
  );

  it.each(['/openapi.json', '/openapi.json/'])(
    'serves %s by the public OpenAPI document, answered to browsers like the probes, on the public listener only',
    (path) => {
      expect(table.fixed(path)?.name).toBe('openapi');
      expect(table.fixed(path)?.probe).toBe(true);
      expect(new RouteTable(routes(undefined), 'admin').fixed(path)).toBeUndefined();
    },
  );

  it.each([
    '/V2.01/oauth/token',
    '/forward-authx',
    '/Forward-auth',
    '/v2_01/oauth/token',
    '/V2_01/oauth/revoke',
    '/v2.01/oauth/token//',
  ])('has no fixed route at %s (only the spellings official SDKs send)', (path) => {
    expect(table.fixed(path)).toBeUndefined();
  });

  it.each([
    ['/v2.01/acme/clients', 'clients'],
    ['/v2.01/acme/clients/', 'clients'],
    ['/v2.01/acme/clients?x=1', 'clients'],
    ['/v2.01/acme/clients/logo', 'gateway'],
    ['/v2.01/acme/users/42', 'gateway'],
    ['/v2.01/acme/clientsx', 'gateway'],
  ])('sends %s to the %s route, after admission, answering errors in MANGOPAY’s shape', (target, name) => {
    expect(apiRouteOf(target)).toBe(name);
    const [path = '', query = ''] = target.split('?');
    const { route, pathClientId } = table.api(path, query);
    expect(route.errors).toBe('mangopay');
    expect(pathClientId).toBe('acme');
  });

  it.each([
    ['/v2.01/oauth/anything', 'not_found'],
    ['/v2.01/oauth/token/extra', 'not_found'],
    ['/v2.02/acme/clients', 'not_found'],
    ['/', 'not_found'],
    ['/v2.01/acme/../other/clients', 'invalid_request'],
    ['/v2.01/acme/%2e%2e/clients', 'invalid_request'],
  ])('refuses %s with %s before authentication', (target, code) => {
    expect(refusalOf(target)).toBe(code);
  });

  it.each(['public', 'admin'] as const)(
    'gives each path of the %s listener to one row only: a path claimed twice would be served by whichever came first',
    (listener) => {
      const rows = routes(undefined).filter((row) => [row.listener].flat().includes(listener));
      const paths = rows.flatMap((row) => ('paths' in row ? row.paths : []));
      expect(paths.length).toBeGreaterThan(0);
      expect(new Set(paths.map((path) => path.toLowerCase())).size).toBe(paths.length);
    },
  );

  it('serves the admin API on the admin listener only, and the public API on the public one only', () => {
    const admin = new RouteTable(routes(undefined), 'admin');
    const publicTable = new RouteTable(routes(undefined), 'public');
    expect(admin.fixed('/admin/v1/clients')?.name).toBe('admin');
    expect(publicTable.fixed('/admin/v1/clients')).toBeUndefined();
    expect(admin.fixed('/v2.01/oauth/token')).toBeUndefined();
    expect(admin.fixed('/healthz')?.name).toBe('healthz');
    expect(() => admin.api('/v2.01/acme/clients', '')).toThrow(
      expect.objectContaining({ code: 'not_found' }),
    );
  });
});
