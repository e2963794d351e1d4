import { createHash, randomBytes } from 'node:crypto';
import type { ActiveAdminSession, AdminRecord } from '../domain/records.js';
import { unavailable } from '../errors.js';
import type { Store } from '../store/store.js';

/** How long a dashboard session lasts from sign-in, whatever is done in it: a working day. */
export const ADMIN_SESSION_LIFETIME_MS = 8 * 60 * 60 * 1000;

/** A session id: 32 random bytes, base64url; nothing else is ever taken for one. */
const SESSION_ID_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export interface StartedSession {
  /** The cookie's value: the only copy of the id, which the store keeps as a hash. */
  readonly id: string;
  readonly csrfToken: string;
  readonly expiresAt: number;
}

/**
 * Dashboard sessions, kept in the store so that every node knows them and sign-out ends one everywhere at
 * once: each request reads its session (admin traffic is light), so an ended session, an expired one or
 * one whose admin was revoked stops at its next request. The store holds the SHA-256 of the id, enough for
 * 256 random bits, so a copy of the database opens no session.
 */
export class AdminSessions {
  readonly #store: Store;

  constructor(store: Store) {
    this.#store = store;
  }

  async start(admin: AdminRecord, now: number): Promise<StartedSession> {
    const id = randomBytes(32).toString('base64url');
    const csrfToken = randomBytes(32).toString('base64url');
    const expiresAt = now + ADMIN_SESSION_LIFETIME_MS;
    await this.#guard(() =>
      this.#store.createAdminSession({
        idHash: hashOf(id),
        adminName: admin.name,
        csrfToken,
        createdAt: now,
        expiresAt,
      }),
    );
    return { id, csrfToken, expiresAt };
  }

  /** The session of cookie value `id`, if in force and its admin not revoked. */
  async find(id: string, now: number): Promise<ActiveAdminSession | undefined> {
    if (!SESSION_ID_PATTERN.test(id)) return undefined;
    const session = await this.#guard(() => this.#store.findAdminSession(hashOf(id), now));
    return session === undefined || session.admin.revokedAt !== null ? undefined : session;
  }

  async end(id: string, now: number): Promise<void> {
    if (!SESSION_ID_PATTERN.test(id)) return;
    await this.#guard(() => this.#store.endAdminSession(hashOf(id), now));
  }

  async #guard<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      throw unavailable('store_unavailable', error);
    }
  }
}

function hashOf(id: string): string {
  return createHash('sha256').update(id).digest('base64url');
}
