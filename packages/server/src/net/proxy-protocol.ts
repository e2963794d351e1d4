import { isIPv4, isIPv6 } from 'node:net';

/**
 * The PROXY protocol (HAProxy's proxy-protocol.txt, versions 1 and 2): a TCP load balancer that does not
 * terminate TLS sends, before the client's first byte, a header naming the client's address. Read only
 * from `--trust-proxy` peers; anything the parser does not accept closes the connection.
 */
export type ProxyHeader =
  /** More bytes are needed to decide. */
  | { readonly kind: 'incomplete' }
  | { readonly kind: 'invalid'; readonly reason: string }
  /** A relayed connection from `source`; the header is `length` bytes long. */
  | { readonly kind: 'proxied'; readonly source: string; readonly length: number }
  /** v2 LOCAL: the proxy's own connection (a health check); the peer address stands. */
  | { readonly kind: 'local'; readonly length: number };

/** Version 1: "PROXY TCP4|TCP6 src dst sport dport\r\n", at most 107 bytes (spec §2.1). */
const V1_PREFIX = Buffer.from('PROXY ');
const V1_MAX_BYTES = 107;
/** Version 2: this signature, then version/command, family/transport and a 16-bit length (spec §2.2). */
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V2_FIXED_BYTES = 16;
/**
 * Addresses (at most 216 bytes, for AF_UNIX) and TLVs, which we skip: load balancers send a few dozen
 * bytes of them (AWS's VPC endpoint id, Azure's link id). Anything longer is refused, not buffered.
 */
const V2_MAX_PAYLOAD_BYTES = 1024;
/** The most bytes the reader buffers before a header is complete. */
export const PROXY_HEADER_MAX_BYTES = V2_FIXED_BYTES + V2_MAX_PAYLOAD_BYTES;

const V2_COMMAND_LOCAL = 0x20;
const V2_COMMAND_PROXY = 0x21;
const V2_TCP_OVER_IPV4 = 0x11;
const V2_TCP_OVER_IPV6 = 0x21;
const PORT = /^(0|[1-9]\d{0,4})$/;

export function parseProxyHeader(data: Buffer): ProxyHeader {
  if (startsWithPrefixOf(data, V2_SIGNATURE)) return parseVersion2(data);
  if (startsWithPrefixOf(data, V1_PREFIX)) return parseVersion1(data);
  return { kind: 'invalid', reason: 'no PROXY protocol header' };
}

/** Whether `data` and `prefix` agree on their common length (a short `data` may still become it). */
function startsWithPrefixOf(data: Buffer, prefix: Buffer): boolean {
  const length = Math.min(data.length, prefix.length);
  return data.subarray(0, length).equals(prefix.subarray(0, length));
}

function parseVersion1(data: Buffer): ProxyHeader {
  const end = data.subarray(0, V1_MAX_BYTES).indexOf('\r\n');
  if (end < 0) {
    return data.length < V1_MAX_BYTES
      ? { kind: 'incomplete' }
      : { kind: 'invalid', reason: 'v1 header longer than 107 bytes' };
  }
  const fields = data.subarray(0, end).toString('latin1').split(' ');
  if (fields.length !== 6) return { kind: 'invalid', reason: 'v1 header needs 6 fields' };
  const [, protocol, source, destination, sourcePort, destinationPort] = fields as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const isAddress = protocol === 'TCP4' ? isIPv4 : protocol === 'TCP6' ? isIPv6 : undefined;
  // "UNKNOWN" (spec §2.1) would leave the proxy's own address: refused, since per-address counters
  // would then put every client of that proxy in one bucket.
  if (isAddress === undefined) return { kind: 'invalid', reason: `v1 protocol ${protocol} not accepted` };
  if (!isAddress(source) || !isAddress(destination) || source.includes('%')) {
    return { kind: 'invalid', reason: 'v1 address malformed' };
  }
  if (!isPort(sourcePort) || !isPort(destinationPort))
    return { kind: 'invalid', reason: 'v1 port malformed' };
  return { kind: 'proxied', source, length: end + 2 };
}

function isPort(text: string): boolean {
  return PORT.test(text) && Number(text) <= 65_535;
}

function parseVersion2(data: Buffer): ProxyHeader {
  if (data.length < V2_FIXED_BYTES) return { kind: 'incomplete' };
  const command = data[12] as number;
  const family = data[13] as number;
  const payloadBytes = data.readUInt16BE(14);
  if (command !== V2_COMMAND_LOCAL && command !== V2_COMMAND_PROXY) {
    return { kind: 'invalid', reason: 'v2 version or command not accepted' };
  }
  if (payloadBytes > V2_MAX_PAYLOAD_BYTES) return { kind: 'invalid', reason: 'v2 header too long' };
  const length = V2_FIXED_BYTES + payloadBytes;
  if (data.length < length) return { kind: 'incomplete' };
  // LOCAL: "the receiver must accept this connection as valid and must use the real connection
  // endpoints and discard the protocol block including the family" (spec §2.2).
  if (command === V2_COMMAND_LOCAL) return { kind: 'local', length };
  const payload = data.subarray(V2_FIXED_BYTES, length);
  if (family === V2_TCP_OVER_IPV4 && payloadBytes >= 12) {
    return { kind: 'proxied', source: payload.subarray(0, 4).join('.'), length };
  }
  if (family === V2_TCP_OVER_IPV6 && payloadBytes >= 36) {
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(payload.readUInt16BE(i).toString(16));
    return { kind: 'proxied', source: groups.join(':'), length };
  }
  // UNSPEC, UDP and UNIX sockets carry no TCP client address to count by.
  return { kind: 'invalid', reason: `v2 family 0x${family.toString(16)} not accepted` };
}
