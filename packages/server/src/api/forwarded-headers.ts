import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { PortcullisError } from '../errors.js';
import { withoutIpv4Mapping } from '../net/client-address.js';
import { identityHeaders } from './admission.js';
import type { Principal } from './authenticate-request.js';

/**
 * The request headers an upstream receives. Upstreams take identity, client address, method and route
 * from headers, and many read a header under more than one spelling: CGI, WSGI, Rack and PHP turn `-` into
 * `_` (so `X_Client_Id` and `X-Client-Id` become one variable; gunicorn before 22 joined them as
 * `bob,alice`), and lighttpd turns every other non-alphanumeric character into `_` too. So a client's
 * header is matched by its normalised name (lower case, every character other than a letter, digit or `-`
 * read as `-`), and these are never forwarded from the client:
 */
const NOT_FORWARDED = new Set([
  // Who called (`identityHeaders`): set by Portcullis alone, so that the upstream can trust them.
  'x-client-id',
  'x-api-key-id',
  'x-auth-method',
  'x-auth-scope',
  'x-request-id',
  // Credentials: the upstream trusts Portcullis, never the caller's secrets.
  'authorization',
  'proxy-authorization',
  // Set by Portcullis: Host names the upstream; the body's framing is the one Portcullis parsed.
  'host',
  'content-length',
  'transfer-encoding',
  // Hop-by-hop (RFC 9110 §7.6.1, RFC 9113 §3.2.1 for HTTP2-Settings): about one connection only.
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'upgrade',
  'proxy-authenticate',
  'http2-settings',
  // The client's address as frameworks read it (Express, Rails, Laravel, Spring's RemoteIpValve, CDNs'
  // conventions): Portcullis states it in Forwarded and X-Forwarded-For (any X-Forwarded-* is also
  // dropped, by prefix below).
  'forwarded',
  'x-real-ip',
  'x-client-ip',
  'client-ip',
  'true-client-ip',
  'cf-connecting-ip',
  'fastly-client-ip',
  'x-cluster-client-ip',
  'x-originating-ip',
  'x-remote-ip',
  'x-remote-addr',
  // The route or host as rewriting proxies pass it on, which frameworks obey over the request line
  // (Symfony and Zend read X-Original-URL and X-Rewrite-URL; X-Original-URI is nginx's custom;
  // X-Host and X-Original-Host are read for links by several frameworks).
  'x-original-url',
  'x-rewrite-url',
  'x-original-uri',
  'x-envoy-original-path',
  'x-host',
  'x-original-host',
  // The method as forward-auth proxies describe it; some upstreams read it as the method.
  'x-original-method',
]);

/** X-Forwarded-For, -Proto, -Host, -Port, -Prefix, -Uri, -Method…: only Portcullis's own reach the upstream. */
const FORWARDED_PREFIX = 'x-forwarded-';

/**
 * Method overrides, which Express, Symfony, Google's APIs and OData read as the method: a read-scoped key
 * could send `GET` with `X-HTTP-Method-Override: DELETE`. They are refused rather than dropped, so that a
 * caller who meant the override learns it was not applied instead of having another method run.
 */
const METHOD_OVERRIDES = new Set(['x-http-method-override', 'x-http-method', 'x-method-override']);

const NOT_A_NAME_CHARACTER = /[^a-z0-9-]/g;

export interface ForwardingContext {
  readonly principal: Principal;
  readonly requestId: string;
  /** The client's address as the trusted-proxy rules work it out (not the caller's own claims). */
  readonly clientAddress: string;
  /** `host[:port]` of the upstream. */
  readonly upstreamHost: string;
}

/**
 * The upstream request's headers, in Node's raw `[name, value, …]` form: the client's headers in their
 * order and spelling minus those above and those its `Connection` header names, then Portcullis's own,
 * which nothing the client sends can remove. One pass over the client's headers. Throws 400
 * `invalid_request` for a method override.
 */
export function upstreamRequestHeaders(req: IncomingMessage, context: ForwardingContext): string[] {
  const listedInConnection = connectionOptions(req.headers.connection);
  const raw = req.rawHeaders;
  const headers: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const normalised = name.toLowerCase().replace(NOT_A_NAME_CHARACTER, '-');
    if (NOT_FORWARDED.has(normalised) || normalised.startsWith(FORWARDED_PREFIX)) continue;
    if (METHOD_OVERRIDES.has(normalised)) {
      throw new PortcullisError('invalid_request', {
        message: `${name} is not accepted: send the method itself.`,
        detail: `method override ${normalised}`,
      });
    }
    if (listedInConnection?.has(normalised)) continue;
    headers.push(name, raw[i + 1] as string);
  }
  // Framing as Node parsed it (RFC 9112 §6.3): a chunked request stays chunked, a sized one keeps its size,
  // and one with neither has no body. Set explicitly: for GET, DELETE and OPTIONS, Node would otherwise
  // write a chunked body unframed, where the upstream reads it as the next request.
  if (req.headers['transfer-encoding'] !== undefined) headers.push('Transfer-Encoding', 'chunked');
  else if (req.headers['content-length'] !== undefined) {
    headers.push('Content-Length', req.headers['content-length']);
  }
  headers.push(
    'Host',
    context.upstreamHost,
    ...clientAddressHeaders(context.clientAddress),
    'X-Forwarded-Proto',
    'https',
    'X-Request-Id',
    context.requestId,
    ...identityHeaders(context.principal),
  );
  return headers;
}

/**
 * `Forwarded` (RFC 7239 §4, an IPv6 node bracketed and quoted per §6) and `X-Forwarded-For` with the
 * client's address alone. The caller's own X-Forwarded-For chain is not extended: nothing vouches for it,
 * and upstreams that take its first entry would read a forged address.
 */
function clientAddressHeaders(address: string): string[] {
  const plain = withoutIpv4Mapping(address);
  const family = isIP(plain);
  if (family === 0) return ['Forwarded', 'for=unknown;proto=https'];
  const node = family === 6 ? `"[${plain}]"` : plain;
  return ['Forwarded', `for=${node};proto=https`, 'X-Forwarded-For', plain];
}

/** The header names a `Connection` header lists (RFC 9110 §7.6.1), normalised; undefined when none. */
function connectionOptions(connection: string | undefined): Set<string> | undefined {
  if (connection === undefined || connection === 'keep-alive' || connection === 'close') return undefined;
  return new Set(
    connection.split(',').map((option) => option.trim().toLowerCase().replace(NOT_A_NAME_CHARACTER, '-')),
  );
}
