import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';

/**
 * `--trust-proxy CIDR…`: load balancers that terminate TLS in front of the server. From those addresses,
 * and only with `X-Forwarded-Proto: https`, a plain-HTTP request is served (the client's leg was TLS);
 * the client's address is then the last one in `X-Forwarded-For` that is not itself a trusted proxy.
 * Anything else on plain HTTP is answered "HTTPS required".
 */
export class TrustedProxies {
  readonly #list = new BlockList();
  readonly #empty: boolean;

  /** @param cidrs addresses or ranges such as `10.0.0.0/8`, `192.168.1.5`, `fd00::/8`, already validated. */
  constructor(cidrs: readonly string[]) {
    for (const cidr of cidrs) {
      const [address, prefix] = cidr.split('/') as [string, string | undefined];
      const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
      if (prefix === undefined) this.#list.addAddress(address, family);
      else this.#list.addSubnet(address, Number(prefix), family);
    }
    this.#empty = cidrs.length === 0;
  }

  has(address: string | undefined): boolean {
    if (this.#empty || address === undefined) return false;
    const plain = address.startsWith('::ffff:') ? address.slice(7) : address;
    return this.#list.check(plain, isIP(plain) === 6 ? 'ipv6' : 'ipv4');
  }

  /** Whether a plain-HTTP request came through a trusted proxy from a client that used HTTPS. */
  forwardsHttps(req: IncomingMessage): boolean {
    return this.has(req.socket.remoteAddress) && req.headers['x-forwarded-proto'] === 'https';
  }

  /** The address of the client behind the request, for brute-force counters and the audit trail. */
  clientAddress(req: IncomingMessage): string {
    const peer = req.socket.remoteAddress ?? 'unknown';
    if (this.#empty || !this.has(peer)) return peer;
    const forwarded = req.headers['x-forwarded-for'];
    const hops = (Array.isArray(forwarded) ? forwarded.join(',') : (forwarded ?? '')).split(',');
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = (hops[i] as string).trim();
      if (isIP(hop) === 0) return peer;
      if (!this.has(hop)) return hop;
    }
    return peer;
  }
}

/** Whether `value` is an IP address or a CIDR range. */
export function isCidr(value: string): boolean {
  const [address, prefix, extra] = value.split('/');
  const family = isIP(address ?? '');
  if (family === 0 || extra !== undefined) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 6 ? 128 : 32);
}
