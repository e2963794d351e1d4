import type { AuditCounter } from '../audit/audit-counter.js';
import { PortcullisError } from '../errors.js';
import { loggableClientId } from '../keys/client-id.js';
import { FixedWindows } from './fixed-windows.js';
import type { LimitWindow } from './window-spec.js';

/**
 * Brute-force protection (RFC 6749 §2.3.1: the server MUST protect against it). Failed authentications
 * are counted per source address and ClientId, and per source address alone. Past either limit, further
 * attempts from that address (for that ClientId, or for any) are refused with 429 before any credential
 * is checked, so guessing stops paying. Only the offending address is held back: the same client from
 * another address, and other clients, are unaffected, so an attacker cannot lock a client out.
 * Failures and refusals are counted in the audit trail per address and claimed ClientId.
 */
export class FailedAuthentications {
  readonly #perAddressAndClient: FixedWindows;
  readonly #perAddress: FixedWindows;
  readonly #audit: AuditCounter;

  constructor(
    perAddressAndClient: readonly LimitWindow[],
    perAddress: readonly LimitWindow[],
    audit: AuditCounter,
  ) {
    this.#perAddressAndClient = new FixedWindows(perAddressAndClient);
    this.#perAddress = new FixedWindows(perAddress);
    this.#audit = audit;
  }

  /**
   * Throws 429 when `address` may not try now. `claimedClientId` is asked for only when the address has
   * failed before, so that a well-behaved caller pays one map lookup.
   */
  refuseIfBlocked(address: string, claimedClientId: () => string | undefined, now: number): void {
    if (!this.#perAddress.has(address)) return;
    let wait = this.#perAddress.blockedFor(address, now);
    const clientId = claimedClientId();
    if (wait === 0 && clientId !== undefined)
      wait = this.#perAddressAndClient.blockedFor(pairKey(address, clientId), now);
    if (wait === 0) return;
    this.#audit.count('limit.failed_authentication', auditSubject(address, clientId), now);
    throw new PortcullisError('rate_limit', {
      message: 'Too many failed authentications from this address: wait until the time in Retry-After.',
      detail: `failed-authentication limit reached for ${address}`,
      headers: { 'Retry-After': String(Math.max(1, Math.ceil(wait / 1000))) },
    });
  }

  record(address: string, clientId: string | undefined, now: number): void {
    this.#audit.count('authentication.failed', auditSubject(address, clientId), now);
    // Counted even when the per-address limit is off: the entry marks the address as one to check.
    this.#perAddress.hit(address, now);
    if (clientId !== undefined && this.#perAddressAndClient.enabled) {
      this.#perAddressAndClient.hit(pairKey(address, clientId), now);
    }
  }
}

function pairKey(address: string, clientId: string): string {
  return `${address} ${clientId}`;
}

function auditSubject(address: string, clientId: string | undefined) {
  return { source: address, clientId: clientId === undefined ? undefined : loggableClientId(clientId) };
}
