import type { AdminContext } from '../admin/admin.js';
import { AdminError } from '../admin/admin.js';
import type { AdminRecord, AdminRole } from '../domain/records.js';
import { PortcullisError } from '../errors.js';
import type { Services } from '../services.js';
import type { Exchange } from '../wire/exchange.js';
import { sendJsonText } from '../wire/respond.js';
import { authenticateAdmin, requireRole } from './authenticate-admin.js';
import { handleSessionRequest, SESSION_PATH } from './session.js';

/** Where the admin API lives on the admin listener; its resources' paths are below it. */
export const ADMIN_API_PATH = '/admin/v1';

export type AdminServices = Pick<
  Services,
  | 'admins'
  | 'adminSessions'
  | 'failedAuthentications'
  | 'store'
  | 'secrets'
  | 'options'
  | 'logger'
  | 'metrics'
>;

/** One admin request, authenticated, as a resource's handler receives it. */
export interface AdminCall {
  readonly services: AdminServices;
  readonly exchange: Exchange;
  readonly admin: AdminRecord;
  /** The path's `{name}` segments. */
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  /** The admin layer's context: its changes are recorded in the audit trail under this admin's name. */
  readonly context: AdminContext;
}

export interface AdminAnswer {
  readonly status: 200 | 201 | 204;
  /** JSON; none for 204. */
  readonly body?: unknown;
}

export type AdminMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE';

export interface AdminResource {
  /** Names the operation in logs and metrics (`admin.` + this). */
  readonly name: string;
  readonly method: AdminMethod;
  /** Below ADMIN_API_PATH, with `{name}` for a segment: `/clients/{clientId}`. */
  readonly path: string;
  /** The least role that may call it. */
  readonly role: AdminRole;
  /** The URL parameters it takes; any other is refused. */
  readonly query?: readonly string[];
  readonly handle: (call: AdminCall) => Promise<AdminAnswer>;
}

/**
 * A path segment that names something: ClientIds, key ids and names all keep to these characters, so
 * anything else is no such resource, and nothing is ever percent-decoded.
 */
const SEGMENT = '([A-Za-z0-9_-]{1,64})';

interface CompiledResource {
  readonly resource: AdminResource;
  readonly pattern: RegExp;
  readonly names: readonly string[];
}

/**
 * The admin API's router: authenticates every request first (so that nothing, not even which paths
 * exist, is told to a caller without a token), then finds the resource (404, or 405 with `Allow`),
 * checks the role and the URL parameters, runs the handler and answers JSON, never cached.
 */
export function adminRouter(
  resources: readonly AdminResource[],
): (services: AdminServices, exchange: Exchange) => Promise<void> {
  const compiled = resources.map(compile);
  return async (services, exchange) => {
    const path = exchange.path.slice(ADMIN_API_PATH.length);
    if (path === SESSION_PATH || path === `${SESSION_PATH}/`) {
      exchange.route = 'admin.session';
      return handleSessionRequest(services, exchange);
    }
    const { admin } = await authenticateAdmin(services, exchange);
    const matching = compiled
      .map((entry) => ({ entry, match: entry.pattern.exec(path) }))
      .filter(({ match }) => match !== null);
    if (matching.length === 0) throw new PortcullisError('not_found');
    const found = matching.find(({ entry }) => entry.resource.method === exchange.req.method);
    if (found === undefined) {
      const allow = matching.map(({ entry }) => entry.resource.method).join(', ');
      throw new PortcullisError('method_not_allowed', { headers: { Allow: allow } });
    }
    const { entry, match } = found as { entry: CompiledResource; match: RegExpExecArray };
    const { resource } = entry;
    exchange.route = `admin.${resource.name}`;
    requireRole(admin, resource.role);
    const query = checkQuery(exchange.query, resource.query ?? []);
    const params = Object.fromEntries(entry.names.map((name, i) => [name, match[i + 1] as string]));
    const context: AdminContext = {
      store: services.store.actingAs(admin.name),
      serverSecret: services.secrets.current,
      environment: services.options.environment,
    };
    let answer: AdminAnswer;
    try {
      answer = await resource.handle({ services, exchange, admin, params, query, context });
    } catch (error) {
      throw error instanceof AdminError ? fromAdminError(error) : error;
    }
    sendAnswer(exchange, answer);
  };
}

function compile(resource: AdminResource): CompiledResource {
  const names: string[] = [];
  const source = resource.path.replace(/\{(\w+)\}/g, (_whole, name: string) => {
    names.push(name);
    return SEGMENT;
  });
  // A trailing slash is the same resource, as on every other route.
  return { resource, pattern: new RegExp(`^${source}/?$`), names };
}

function checkQuery(query: string, allowed: readonly string[]): URLSearchParams {
  const params = new URLSearchParams(query);
  const errors: Record<string, string> = {};
  for (const name of new Set(params.keys())) {
    if (!allowed.includes(name)) errors[name] = 'unknown parameter';
    else if (params.getAll(name).length > 1) errors[name] = 'given more than once';
  }
  if (Object.keys(errors).length > 0) {
    throw new PortcullisError('invalid_request', {
      message: 'Invalid URL parameters: see errors.',
      fieldErrors: errors,
    });
  }
  return params;
}

/** The admin layer's refusals: 400 naming the field, 404, or 409 (RFC 9110 §15.5.10). */
function fromAdminError(error: AdminError): PortcullisError {
  if (error.kind === 'not_found') return new PortcullisError('not_found', { message: error.message });
  if (error.kind === 'conflict') return new PortcullisError('conflict', { message: error.message });
  return new PortcullisError('invalid_request', {
    message: error.message,
    ...(error.field !== undefined && { fieldErrors: { [error.field]: error.message } }),
  });
}

const NO_STORE = Object.freeze({ 'Cache-Control': 'no-store' });

function sendAnswer({ res }: Exchange, answer: AdminAnswer): void {
  if (answer.status === 204) {
    res.writeHead(204, NO_STORE);
    res.end();
    return;
  }
  sendJsonText(res, answer.status, JSON.stringify(answer.body), NO_STORE);
}
