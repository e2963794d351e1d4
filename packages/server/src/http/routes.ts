import { ADMIN_API_PATH, handleAdminRequest } from '../admin-api/admin-api.js';
import { type Admission, type AdmissionServices, admitApiCall } from '../api/admission.js';
import { handleClientResource } from '../api/client-resource.js';
import { FORWARD_AUTH_PATH, handleForwardAuth } from '../api/forward-auth.js';
import type { Gateway } from '../api/gateway.js';
import { checkApiTarget } from '../api/upstream-path.js';
import { PortcullisError } from '../errors.js';
import { handleIntrospectionRequest } from '../oauth/introspection-endpoint.js';
import { handleRevocationRequest } from '../oauth/revocation-endpoint.js';
import { handleTokenRequest } from '../oauth/token-endpoint.js';
import { ADMIN_DOCUMENT_PATH, adminApiDocument } from '../openapi/admin-api.js';
import { documentHandler } from '../openapi/document-route.js';
import { PUBLIC_DOCUMENT_PATH, publicApiDocument } from '../openapi/public-api.js';
import type { Services } from '../services.js';
import type { Exchange } from '../wire/exchange.js';
import { DASHBOARD_ASSETS_PATH, dashboardHandler } from './dashboard-files.js';
import { handleLiveness, handleReadiness } from './health.js';
import { handleMetrics } from './metrics-endpoint.js';

/**
 * How a route answers errors: RFC 6749 §5.2 (`error`, `error_description`), MANGOPAY's API shape, or
 * problem details (RFC 9457), the admin listener's.
 */
export type ErrorShape = 'oauth' | 'mangopay' | 'problem';

/** Where a route is served: the public API listener, or the admin listener (`--admin-port`). */
export type ListenerName = 'public' | 'admin';

/** Which browser requests a listener serves. */
export type BrowserPolicy = 'refused' | 'same-origin';

/**
 * What each listener is, beside its rows: the error shape of requests no route takes (404s, early
 * refusals), and which browser requests it serves: none on the public one (server to server only), those
 * of its own origin on the admin one (the dashboard's pages and their calls).
 */
const LISTENERS: Readonly<
  Record<ListenerName, { readonly errors: ErrorShape; readonly browsers: BrowserPolicy }>
> = {
  public: { errors: 'mangopay', browsers: 'refused' },
  admin: { errors: 'problem', browsers: 'same-origin' },
};

interface RouteRow {
  /** Names the route in logs and docs. */
  readonly name: string;
  /** The listener, or the listeners, that serve the route. */
  readonly listener: ListenerName | readonly ListenerName[];
  /** Default: the shape of the listener that serves the request (for rows served on both). */
  readonly errors?: ErrorShape;
}

/** A route at fixed paths (each also under a trailing slash) whose handler does all its own steps. */
export interface FixedRoute extends RouteRow {
  readonly paths: readonly string[];
  /** Also every path under the first of `paths` (`/forward-auth/…`, where Envoy puts the original path). */
  readonly andBelow?: true;
  readonly handle: (services: Services, exchange: Exchange) => Promise<void>;
  /**
   * A health probe or a scrape: answered to browsers too (the refusal of browsers does not apply), and
   * its access line written at debug, since load balancers and Prometheus ask every few seconds.
   */
  readonly probe?: true;
}

/**
 * A route under `/v2.01/{ClientId}/`, for the resources `resource` matches (the part after the ClientId):
 * admitted by `admit` (authentication, ClientId, scope, key use, limits), then handled.
 */
export interface ApiRoute extends RouteRow {
  readonly resource: RegExp;
  readonly admit: (
    services: AdmissionServices,
    exchange: Exchange,
    pathClientId: string,
  ) => Promise<Admission>;
  readonly handle: (services: Services, exchange: Exchange, admission: Admission) => Promise<void>;
}

export type Route = FixedRoute | ApiRoute;

/**
 * Every route of the server, one row each; a request goes to the first row that matches it. Fixed paths
 * first: `/v2.01/oauth/…` also has the shape of an API path.
 *
 * The token endpoint is also at `/V2_01/oauth/token`: MANGOPAY's Java SDK (2.57.0 and later) builds that
 * URL from its version enum's name instead of its value, and MANGOPAY answers it. No other spelling is
 * accepted (`/V2.01/`, `/v2_01/`, …): no official SDK sends one, and every alias is one more path that a
 * proxy in front may route differently from us. The Java SDK's other calls use `/v2.01/` as usual.
 */
export function routes(gateway: Gateway | undefined): readonly Route[] {
  const dashboard = dashboardHandler();
  return [
    {
      name: 'token',
      listener: 'public',
      errors: 'oauth',
      paths: ['/v2.01/oauth/token', '/V2_01/oauth/token'],
      handle: handleTokenRequest,
    },
    {
      name: 'revocation',
      listener: 'public',
      errors: 'oauth',
      paths: ['/v2.01/oauth/revoke'],
      handle: handleRevocationRequest,
    },
    {
      name: 'introspection',
      listener: 'public',
      errors: 'oauth',
      paths: ['/v2.01/oauth/introspect'],
      handle: handleIntrospectionRequest,
    },
    {
      name: 'forward-auth',
      listener: 'public',
      errors: 'mangopay',
      paths: [FORWARD_AUTH_PATH],
      andBelow: true,
      handle: handleForwardAuth,
    },
    {
      name: 'healthz',
      listener: ['public', 'admin'],
      paths: ['/healthz'],
      probe: true,
      handle: handleLiveness,
    },
    {
      name: 'readyz',
      listener: ['public', 'admin'],
      paths: ['/readyz'],
      probe: true,
      handle: handleReadiness,
    },
    {
      name: 'metrics',
      listener: 'admin',
      paths: ['/metrics'],
      probe: true,
      handle: handleMetrics,
    },
    {
      // Before the `admin` row, whose prefix it is under: exact paths win. No credentials: no data in it.
      name: 'admin.openapi',
      listener: 'admin',
      errors: 'problem',
      paths: [ADMIN_DOCUMENT_PATH],
      handle: documentHandler(adminApiDocument),
    },
    {
      // The public listener's OpenAPI document. `probe` for what it also means to a probe: it is public
      // information, answered to browsers too (an operator may open it in one), and fetched by tools
      // often enough that its access line belongs at debug.
      name: 'openapi',
      listener: 'public',
      errors: 'mangopay',
      paths: [PUBLIC_DOCUMENT_PATH],
      probe: true,
      handle: documentHandler(publicApiDocument),
    },
    {
      // The dashboard (issue 14): its page and the files it loads, on the admin listener only.
      name: 'dashboard',
      listener: 'admin',
      errors: 'problem',
      paths: ['/', '/index.html'],
      handle: dashboard,
    },
    {
      name: 'dashboard.assets',
      listener: 'admin',
      errors: 'problem',
      paths: [DASHBOARD_ASSETS_PATH],
      andBelow: true,
      handle: dashboard,
    },
    {
      name: 'admin',
      listener: 'admin',
      errors: 'problem',
      paths: [ADMIN_API_PATH],
      andBelow: true,
      handle: handleAdminRequest,
    },
    {
      name: 'clients',
      listener: 'public',
      errors: 'mangopay',
      resource: /^clients\/?$/,
      admit: admitApiCall,
      handle: handleClientResource,
    },
    {
      name: 'gateway',
      listener: 'public',
      errors: 'mangopay',
      resource: /(?:)/,
      admit: admitApiCall,
      handle: (_services, exchange, admission) => {
        if (gateway === undefined) {
          throw new PortcullisError('not_found', { detail: 'no upstream is configured' });
        }
        return gateway.forward(exchange, admission);
      },
    },
  ];
}

/** The routes of one listener, indexed for lookup. */
export class RouteTable {
  readonly #fixed = new Map<string, FixedRoute>();
  /** Routes that also take every path under theirs: `[prefix with its slash, route]`. */
  readonly #below: readonly (readonly [string, FixedRoute])[];
  readonly #api: readonly ApiRoute[];
  /** The error shape of requests that no route takes. */
  readonly errors: ErrorShape;
  /** Which browser requests it serves. */
  readonly browsers: BrowserPolicy;

  constructor(
    rows: readonly Route[],
    readonly listener: ListenerName,
  ) {
    ({ errors: this.errors, browsers: this.browsers } = LISTENERS[listener]);
    const served = rows.filter((row) =>
      typeof row.listener === 'string' ? row.listener === listener : row.listener.includes(listener),
    );
    for (const row of served) {
      if (!('paths' in row)) continue;
      for (const path of row.paths) this.#fixed.set(path, row).set(`${path}/`, row);
    }
    this.#below = served.flatMap((row) =>
      'paths' in row && row.andBelow === true ? [[`${row.paths[0]}/`, row] as const] : [],
    );
    this.#api = served.filter((row): row is ApiRoute => 'resource' in row);
  }

  /** The fixed route at `path`: looked up first, as it decides the shape of every error, early ones too. */
  fixed(path: string): FixedRoute | undefined {
    const exact = this.#fixed.get(path);
    if (exact !== undefined) return exact;
    for (const [prefix, row] of this.#below) if (path.startsWith(prefix)) return row;
    return undefined;
  }

  /**
   * The API route for `/v2.01/{ClientId}/{resource}`, where every segment reads the same to any upstream
   * (see `checkApiTarget`); the ClientId's syntax is checked by authentication, not here.
   */
  api(path: string, query: string): { readonly route: ApiRoute; readonly pathClientId: string } {
    if (this.#api.length === 0) throw new PortcullisError('not_found');
    const target = checkApiTarget(path, query);
    if (target.kind === 'not_api') throw new PortcullisError('not_found');
    if (target.kind === 'refused') {
      throw new PortcullisError('invalid_request', { message: target.reason, detail: 'path refused' });
    }
    if (target.clientId === 'oauth') throw new PortcullisError('not_found');
    const route = this.#api.find((row) => row.resource.test(target.resource));
    if (route === undefined) throw new PortcullisError('not_found');
    return { route, pathClientId: target.clientId };
  }
}
