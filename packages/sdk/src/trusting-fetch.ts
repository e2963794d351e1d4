import https from 'node:https';
import { Readable } from 'node:stream';
import type { ReadableStream } from 'node:stream/web';
import { ConfigurationError } from './errors.js';
import type { FetchFunction } from './transport.js';

/** One certificate in PEM (RFC 7468 §5: "CERTIFICATE" label), possibly among others in the same text. */
const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----/;

/** Statuses whose response has no body (Fetch Standard, "null body status"). */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

/**
 * The `ca` option: PEM text, or a list of them. A file name, a Buffer or DER bytes are refused with a
 * message that names `ca`, rather than failing later on the first request as an untrusted certificate.
 */
export function validCa(value: unknown): readonly string[] {
  const list: readonly unknown[] = Array.isArray(value) ? value : [value];
  if (list.length === 0 || !list.every((pem) => typeof pem === 'string' && PEM_CERTIFICATE.test(pem))) {
    throw new ConfigurationError(
      'ca must be PEM text ("-----BEGIN CERTIFICATE-----…"), or a list of them: read the certificate file and pass its contents',
    );
  }
  return list as readonly string[];
}

/**
 * A fetch over node:https that trusts `ca` instead of the system's certificate authorities, for a server with
 * a self-signed certificate. Node's global fetch takes no CA without undici's Agent, a dependency the SDK
 * does not have. Redirects are returned as they are (the transport refuses them); an `http:` URL, which
 * the client allows only to loopback for tests, goes to the global fetch.
 */
export function fetchTrusting(ca: readonly string[]): FetchFunction {
  // Idle keep-alive sockets are unreferenced by node:http: they do not keep a finished script running.
  const agent = new https.Agent({ ca: [...ca], keepAlive: true });
  return async (input, init) => {
    const request = new Request(input, init);
    if (new URL(request.url).protocol !== 'https:') return fetch(request);
    // Request has already turned every body type fetch accepts into bytes and set its Content-Type.
    const body = request.body === null ? undefined : Buffer.from(await request.arrayBuffer());
    return new Promise<Response>((resolve, reject) => {
      const outgoing = https.request(request.url, {
        method: request.method,
        headers: Object.fromEntries(request.headers),
        agent,
        ...(init?.signal && { signal: init.signal }),
      });
      outgoing.once('error', reject);
      outgoing.once('response', (incoming) => {
        const headers = new Headers();
        const raw = incoming.rawHeaders;
        for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i] as string, raw[i + 1] as string);
        const status = incoming.statusCode ?? 0;
        if (NULL_BODY_STATUSES.has(status)) incoming.resume();
        const stream = NULL_BODY_STATUSES.has(status)
          ? null
          : (Readable.toWeb(incoming) as ReadableStream<Uint8Array> as globalThis.ReadableStream<Uint8Array>);
        resolve(new Response(stream, { status, statusText: incoming.statusMessage ?? '', headers }));
      });
      outgoing.end(body);
    });
  };
}
