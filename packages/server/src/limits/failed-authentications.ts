import type { AuditCounter } from '../audit/audit-counter.js';
import { PortcullisError } from '../errors.js';
import { loggableClientId } from '../keys/client-id.js';
import { type Metrics, NO_METRICS } from '../metrics/metrics.js';
import { addressKey } from '../net/client-address.js';
import { retryAfterHeader } from './rate-limit-headers.js';
import type { CounterFactory, WindowCounter } from './window-counter.js';
import type { LimitWindow } from './window-spec.js';

/**
 * Brute-force protection (RFC 6749 §2.3.1: the server MUST protect against it). Failed authentications
 * are counted per source address and ClientId, and per source address alone; an IPv6 address is counted
 * as its network (`--ipv6-prefix`, /64 by default), since one host usually holds all of it. Past either limit, further
 * attempts from that address (for that ClientId, or for any) are refused with 429 before any credential
 * is checked, so guessing stops paying. Only the offending address is held back: the same client from
 * another address, and other clients, are unaffected, so an attacker cannot lock a client out.
 * Failures are counted in the audit trail per address and claimed ClientId, refusals per address.
 */
export class FailedAuthentications {
  readonly #perAddressAndClient: WindowCounter;
  readonly #perAddress: WindowCounter;
  readonly #audit: AuditCounter;
  readonly #ipv6Prefix: number;
  readonly #metrics: Pick<Metrics, 'limitRefused' | 'authenticationFailed'>;

  constructor(
    perAddressAndClient: readonly LimitWindow[],
    perAddress: readonly LimitWindow[],
    audit: AuditCounter,
    counters: CounterFactory,
    ipv6Prefix: number,
    metrics: Pick<Metrics, 'limitRefused' | 'authenticationFailed'> = NO_METRICS,
  ) {
    this.#metrics = metrics;
    // Exact, never synced: a few guesses past the limit are what it is there to stop.
    this.#perAddressAndClient = counters.exact('failed-pair', perAddressAndClient);
    this.#perAddress = counters.exact('failed-address', perAddress);
    this.#audit = audit;
    this.#ipv6Prefix = ipv6Prefix;
  }

  /**
   * Throws 429 when `address` may not try now. `claimedClientId` is asked for only when the address may
   * have failed before: with counters in this process, a well-behaved caller pays one map lookup, in the
   * counters themselves (a set of its own, bounded apart, once let an address they still counted go
   * unchecked). Shared counters are asked every time: an address may have failed through another process.
   */
  async refuseIfBlocked(
    address: string,
    claimedClientId: () => string | undefined,
    now: number,
  ): Promise<void> {
    const key = addressKey(address, this.#ipv6Prefix);
    // With the per-address limit off, the pair's key needs the ClientId: read it whenever the pair counts.
    const mayHaveFailed = this.#perAddress.enabled
      ? this.#perAddress.mayHold(key)
      : this.#perAddressAndClient.enabled;
    if (!mayHaveFailed) return;
    let wait = this.#perAddress.enabled ? await this.#perAddress.blockedFor(key, now) : 0;
    const clientId = claimedClientId();
    if (wait === 0 && clientId !== undefined && this.#perAddressAndClient.enabled)
      wait = await this.#perAddressAndClient.blockedFor(pairKey(key, clientId), now);
    if (wait === 0) return;
    // Per counted address only (an IPv6 /64): the ClientIds, and the addresses within its network, that
    // a blocked source claims are its to choose, one row each otherwise.
    this.#audit.count('limit.failed_authentication', { source: key }, now);
    this.#metrics.limitRefused('failed_authentication');
    throw new PortcullisError('rate_limit', {
      message: 'Too many failed authentications from this address: wait until the time in Retry-After.',
      detail: `failed-authentication limit reached for ${address}`,
      headers: retryAfterHeader(wait),
    });
  }

  /**
   * Counts `reason` (the check's stable code, for `/metrics`): every refusal of credentials, guessed or
   * ended, goes through `record` or `recordEnded` after it.
   */
  countReason(reason: string): void {
    this.#metrics.authenticationFailed(reason);
  }

  /** Addresses (and address and ClientId pairs) whose counts were lost for want of room. */
  get forgottenKeys(): number {
    return this.#perAddress.forgotten + this.#perAddressAndClient.forgotten;
  }

  /** Counts a failure. Awaited by the caller, so that a failed count fails the request (closed). */
  async record(address: string, clientId: string | undefined, now: number): Promise<void> {
    const key = this.#audited(address, clientId, now);
    if (this.#perAddress.enabled) await this.#perAddress.hit(key, now);
    if (clientId !== undefined && this.#perAddressAndClient.enabled) {
      await this.#perAddressAndClient.hit(pairKey(key, clientId), now);
    }
  }

  /**
   * Audits a refusal of credentials that were once right and have ended (a revoked, expired or rotated-out
   * key, a token of one, a disabled client) without counting it: many instances of a client behind one
   * address keep sending them for a moment after a revocation, and counting them would lock the client
   * out of its new key from that address.
   */
  recordEnded(address: string, clientId: string | undefined, now: number): void {
    this.#audited(address, clientId, now);
  }

  /** Counts the failure in the audit trail; returns the address as the limits count it. */
  #audited(address: string, clientId: string | undefined, now: number): string {
    const key = addressKey(address, this.#ipv6Prefix);
    this.#audit.count('authentication.failed', auditSubject(address, key, clientId), now);
    return key;
  }
}

function pairKey(address: string, clientId: string): string {
  return `${address} ${clientId}`;
}

function auditSubject(address: string, network: string, clientId: string | undefined) {
  return {
    source: address,
    sourceNetwork: network,
    clientId: clientId === undefined ? undefined : loggableClientId(clientId),
  };
}
