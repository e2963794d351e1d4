import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';
import { PortcullisError } from '../errors.js';
import { ConnectionPeers, parseForwardedHop, withoutIpv4Mapping } from './client-address.js';

/**
 * `--trust-proxy CIDR…`: load balancers in front of the server. From those addresses, and only with
 * `X-Forwarded-Proto: https`, a plain-HTTP request is served (the client's leg was TLS); the client's
 * address is then the last one in `X-Forwarded-For` that is not itself a trusted proxy. Anything else on
 * plain HTTP is answered "HTTPS required".
 *
 * Only `X-Forwarded-For` is read, never RFC 7239 `Forwarded`: every common load balancer appends to the
 * former, and many pass the latter through as the client sent it; reading both would let a client pick the
 * one its proxy does not write.
 */
export class TrustedProxies {
  readonly #list = new BlockList();
  readonly #empty: boolean;
  readonly #peers: ConnectionPeers;

  /**
   * @param cidrs addresses or ranges such as `10.0.0.0/8`, `192.168.1.5`, `fd00::/8`, already validated.
   * @param peers each connection's peer, as a PROXY protocol header may have named it.
   */
  constructor(cidrs: readonly string[], peers = new ConnectionPeers()) {
    for (const cidr of cidrs) {
      const [address, prefix] = cidr.split('/') as [string, string | undefined];
      const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
      if (prefix === undefined) this.#list.addAddress(address, family);
      else this.#list.addSubnet(address, Number(prefix), family);
    }
    this.#empty = cidrs.length === 0;
    this.#peers = peers;
  }

  has(address: string | undefined): boolean {
    if (this.#empty || address === undefined) return false;
    const plain = withoutIpv4Mapping(address);
    return this.#list.check(plain, isIP(plain) === 6 ? 'ipv6' : 'ipv4');
  }

  /** Whether a plain-HTTP request came through a trusted proxy from a client that used HTTPS. */
  forwardsHttps(req: IncomingMessage): boolean {
    return this.has(this.#peers.of(req.socket)) && req.headers['x-forwarded-proto'] === 'https';
  }

  /**
   * The address of the client behind the request, for brute-force counters and the audit trail. Through
   * a trusted proxy that names no client (no `X-Forwarded-For`, or a hop that is not an address), the
   * request is refused: counting it as the proxy would put every client behind it in one bucket, where
   * one client's failures lock out all the others.
   */
  clientAddress(req: IncomingMessage): string {
    const peer = this.#peers.of(req.socket);
    if (this.#empty || !this.has(peer)) return peer;
    const forwarded = req.headers['x-forwarded-for'];
    const hops = (Array.isArray(forwarded) ? forwarded.join(',') : (forwarded ?? '')).split(',');
    let client: string | undefined;
    for (let i = hops.length - 1; i >= 0; i--) {
      client = parseForwardedHop((hops[i] as string).trim());
      if (client === undefined || !this.has(client)) break;
    }
    if (client === undefined) {
      throw new PortcullisError('invalid_request', {
        message: 'The request came through a trusted proxy whose X-Forwarded-For names no client address.',
        detail: `X-Forwarded-For from trusted proxy ${peer} has no usable client address`,
      });
    }
    // Every hop a trusted proxy: the request started at one of them, which is then the client.
    return client;
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
