import type { Store } from '../store/store.js';
import { createDataDirSecret, type ServerSecrets } from './server-secret.js';

/** What the start-up check did to the store, for the caller's one line. */
export type SecretRecord =
  | { readonly kind: 'unchanged' }
  /** The first fingerprint this store holds: a new store, or one from before fingerprints. */
  | { readonly kind: 'recorded'; readonly fingerprint: string }
  /** This process's current secret replaced an older one of its list as the store's current one. */
  | { readonly kind: 'rotated'; readonly fingerprint: string; readonly retired: string };

export interface PreparedSecrets {
  readonly secrets: ServerSecrets;
  readonly record: SecretRecord;
}

const WHAT_TO_DO =
  "give this process the cluster's secrets with PORTCULLIS_SECRETS or --secrets-file (see docs/deployment.md, Server secrets)";

/** Enough for every node of a cluster racing to record or rotate at once to settle. */
const MAX_ATTEMPTS = 5;

/**
 * The start-up check of the server (the primary, with workers) and of every CLI command that uses the
 * secret. `given` is what `readServerSecrets` found, read before the store was opened so that a bad value
 * is refused first. The store keeps the fingerprint of the cluster's current secret, and a process whose
 * secrets do not agree with it refuses to start, with one line naming both fingerprints and what to do,
 * instead of hashing keys that every other node refuses (`unknown_key`). Never makes a data-directory
 * secret for a store that already holds clients or a fingerprint: that secret could only be wrong.
 *
 * - no fingerprint yet: the current one is recorded (a store from before fingerprints adopts it only when
 *   the secret was the operator's choice or already existed, i.e. was `given`);
 * - the store's is this process's current one: nothing to do;
 * - the store's is one of this process's older ones: rotation, so this one becomes current and the older
 *   one retired, by compare-and-set so that nodes racing agree;
 * - this process's current one was retired, or none matches: refused.
 */
export async function prepareServerSecrets(
  store: Pick<Store, 'serverSecretState' | 'recordServerSecret'>,
  given: ServerSecrets | undefined,
  dataDir: string,
  now: () => number = Date.now,
): Promise<PreparedSecrets> {
  let secrets = given;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const state = await store.serverSecretState();
    if (secrets === undefined) {
      if (state.current !== undefined || state.holdsClients) {
        const held = state.current === undefined ? '' : ` (its secret's fingerprint is ${state.current})`;
        throw new Error(
          `no server secret, and this store already holds clients${held}: a new secret would make keys no other process accepts; ${WHAT_TO_DO}`,
        );
      }
      secrets = createDataDirSecret(dataDir);
    }
    const [mine, ...older] = secrets.fingerprints() as [string, ...string[]];
    if (state.current === mine) return { secrets, record: { kind: 'unchanged' } };
    if (state.retired.includes(mine)) {
      throw new Error(
        `this process's current server secret (${mine}, from ${secrets.source}) was retired by rotation; the store's is ${state.current ?? 'none'}: put the new secret first (see docs/deployment.md, Server secrets)`,
      );
    }
    if (state.current === undefined) {
      if (await store.recordServerSecret(mine, undefined, now())) {
        return { secrets, record: { kind: 'recorded', fingerprint: mine } };
      }
      continue;
    }
    if (!older.includes(state.current)) {
      throw new Error(
        `the server secret does not match this store: this process's is ${mine} (from ${secrets.source}), the store's is ${state.current}; ${WHAT_TO_DO}`,
      );
    }
    if (await store.recordServerSecret(mine, state.current, now())) {
      return { secrets, record: { kind: 'rotated', fingerprint: mine, retired: state.current } };
    }
  }
  throw new Error('the server secret could not be recorded: the store kept changing; try again');
}

/** The one line a rotation or a first record deserves, without any secret; undefined when none. */
export function secretRecordLine(record: SecretRecord): string | undefined {
  switch (record.kind) {
    case 'unchanged':
      return undefined;
    case 'recorded':
      return `server secret ${record.fingerprint} recorded in the store`;
    case 'rotated':
      return `server secret rotated: ${record.fingerprint} is current, ${record.retired} retired (it still verifies keys not yet used and opens tokens while this process lists it)`;
  }
}
