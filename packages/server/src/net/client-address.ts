import { isIP, type Socket } from 'node:net';

/** What Node reports for an IPv4 client on a dual-stack listener (RFC 4291 §2.5.5.2). */
const IPV4_MAPPED = '::ffff:';

/**
 * The client address of each connection: its TCP peer, or the source a PROXY protocol header named for it
 * (`--proxy-protocol`). Recorded once per connection; read on every request in O(1).
 */
export class ConnectionPeers {
  readonly #proxied = new WeakMap<Socket, string>();

  /** Records the source a trusted load balancer named for `socket`. */
  set(socket: Socket, address: string): void {
    this.#proxied.set(socket, address);
  }

  of(socket: Socket): string {
    return this.#proxied.get(socket) ?? socket.remoteAddress ?? 'unknown';
  }
}

/** The IPv4 address an IPv4-mapped IPv6 address (`::ffff:192.0.2.1`) stands for; any other address as it is. */
export function withoutIpv4Mapping(address: string): string {
  if (!address.startsWith(IPV4_MAPPED)) return address;
  const ipv4 = address.slice(IPV4_MAPPED.length);
  return isIP(ipv4) === 4 ? ipv4 : address;
}

/**
 * The key under which an address is counted (failed authentications, connections per address): an IPv4
 * address as it is, an IPv4-mapped IPv6 address as the IPv4 address it maps, and an IPv6 address as its
 * `prefixBits`-bit network, written `2001:db8:1:2:0:0:0:0/64`. One IPv6 host usually holds a whole /64
 * (RFC 6177, RFC 8981 temporary addresses): counted per address, it would get 2^64 budgets.
 */
export function addressKey(address: string, prefixBits: number): string {
  if (!address.includes(':')) return address;
  const unmapped = withoutIpv4Mapping(address);
  if (unmapped !== address) return unmapped;
  if (prefixBits === 128 || isIP(address) !== 6) return address;
  const groups = ipv6Groups(address);
  if (groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff) {
    return `${(groups[6] as number) >> 8}.${(groups[6] as number) & 0xff}.${(groups[7] as number) >> 8}.${(groups[7] as number) & 0xff}`;
  }
  for (let i = 0; i < 8; i++) {
    const keep = Math.min(16, Math.max(0, prefixBits - i * 16));
    groups[i] = (groups[i] as number) & ((0xffff << (16 - keep)) & 0xffff);
  }
  return `${groups.map((group) => group.toString(16)).join(':')}/${prefixBits}`;
}

/** The eight 16-bit groups of a valid IPv6 address (RFC 4291 §2.2, with `::` and a trailing IPv4 part). */
function ipv6Groups(address: string): number[] {
  const withoutZone = address.split('%', 1)[0] as string;
  const lastColon = withoutZone.lastIndexOf(':');
  let text = withoutZone;
  const dotted = withoutZone.slice(lastColon + 1);
  if (dotted.includes('.')) {
    const [a, b, c, d] = dotted.split('.').map(Number) as [number, number, number, number];
    text = `${withoutZone.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = new Array<string>(8 - headGroups.length - tailGroups.length).fill('0');
  return [...headGroups, ...zeros, ...tailGroups].map((group) => Number.parseInt(group, 16));
}

/**
 * One `X-Forwarded-For` hop as load balancers write it: `192.0.2.1`, `2001:db8::1`, `192.0.2.1:4711`
 * (Azure Application Gateway appends the port) or `[2001:db8::1]:4711`. Anything else — `unknown`,
 * obfuscated names, zone indexes, stray text — is undefined.
 */
export function parseForwardedHop(hop: string): string | undefined {
  if (hop.startsWith('[')) {
    const end = hop.indexOf(']');
    const rest = hop.slice(end + 1);
    if (end < 0 || !(rest === '' || isPortSuffix(rest))) return undefined;
    const address = hop.slice(1, end);
    return isIP(address) === 6 && !address.includes('%') ? address : undefined;
  }
  const family = isIP(hop);
  if (family === 6) return hop.includes('%') ? undefined : hop;
  if (family === 4) return hop;
  const colon = hop.lastIndexOf(':');
  if (colon < 0 || !isPortSuffix(hop.slice(colon))) return undefined;
  const address = hop.slice(0, colon);
  return isIP(address) === 4 ? address : undefined;
}

/** `:` and a TCP port, 0 to 65535, in decimal. */
function isPortSuffix(text: string): boolean {
  return /^:\d{1,5}$/.test(text) && Number(text.slice(1)) <= 65_535;
}
