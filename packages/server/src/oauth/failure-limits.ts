import type { FailedAuthentications } from '../limits/failed-authentications.js';

/**
 * The outcome of one credential check: refused ones name the ClientId they claimed, when known, and say
 * whether the credentials were right once and have ended (revoked, expired, rotated out, client disabled)
 * rather than guessed.
 */
export type CredentialCheck<T extends { readonly ok: true }> =
  | T
  | {
      readonly ok: false;
      readonly reason: string;
      readonly clientId?: string | undefined;
      readonly ended?: boolean | undefined;
    };

/**
 * Runs one credential check under the brute-force limits, the same way on every authentication path
 * (Basic and Bearer on the API, Basic on the OAuth endpoints, introspection): an address or claimed
 * ClientId past its limit is refused (429) before anything is checked, and a failed check is counted
 * against both, unless the credentials have ended: those are guesses of no one, and a client's instances
 * behind one address would otherwise lock it out of its new key after a revocation. `claimedClientId` is undefined when this connection already had these very credentials
 * accepted: the check is then repeated (the key may have been revoked since) but not refused beforehand.
 */
export async function checkUnderFailureLimits<T extends { readonly ok: true }>(
  failures: FailedAuthentications,
  address: string,
  now: number,
  claimedClientId: (() => string | undefined) | undefined,
  check: () => CredentialCheck<T> | Promise<CredentialCheck<T>>,
): Promise<CredentialCheck<T>> {
  if (claimedClientId !== undefined) await failures.refuseIfBlocked(address, claimedClientId, now);
  const result = await check();
  if (result.ok) return result;
  failures.countReason(result.reason);
  if (result.ended === true) failures.recordEnded(address, result.clientId, now);
  else await failures.record(address, result.clientId, now);
  return result;
}
