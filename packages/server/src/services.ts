import type { AuditCounter } from './audit/audit-counter.js';
import type { ResolvedServerOptions } from './config.js';
import type { AccessTokens } from './keys/access-tokens.js';
import type { AdminDirectory } from './keys/admin-directory.js';
import type { AdminSessions } from './keys/admin-sessions.js';
import type { CredentialDirectory } from './keys/credential-directory.js';
import type { IntrospectorDirectory } from './keys/introspector-directory.js';
import type { KeyUsage } from './keys/key-usage.js';
import type { ServerSecrets } from './keys/server-secret.js';
import type { ApiKeyVerifier } from './keys/verify-api-key.js';
import type { ClientLimits } from './limits/client-limits.js';
import type { FailedAuthentications } from './limits/failed-authentications.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics/metrics.js';
import type { Store } from './store/store.js';

/** A part of the server that /readyz checks. */
export type ReadinessPart = 'store' | 'cache' | 'change_feed';

/** Whether this process can serve requests now. */
export interface Readiness {
  /** The parts that are not ready; empty when all are. */
  unready(): Promise<readonly ReadinessPart[]>;
}

/** What request handlers share: built once per server in server.ts, read-only afterwards. */
export interface Services {
  readonly options: ResolvedServerOptions;
  readonly store: Store;
  readonly directory: CredentialDirectory;
  readonly apiKeys: ApiKeyVerifier;
  readonly tokens: AccessTokens;
  readonly keyUsage: KeyUsage;
  /** API calls (MANGOPAY's windows) and tokens issued, per client. */
  readonly limits: ClientLimits;
  /** Brute-force protection. */
  readonly failedAuthentications: FailedAuthentications;
  /** Flood-prone security events, counted per minute for the audit trail. */
  readonly audit: AuditCounter;
  readonly introspectors: IntrospectorDirectory;
  /** Admin credentials, for the admin listener. */
  readonly admins: AdminDirectory;
  /** Dashboard sessions (cookie), for the admin listener. */
  readonly adminSessions: AdminSessions;
  /** The server secrets, current first: the admin API keys new API keys with the current one. */
  readonly secrets: ServerSecrets;
  readonly logger: Logger;
  readonly readiness: Readiness;
  /** What `GET /metrics` shows; records nothing with the admin listener off. */
  readonly metrics: Metrics;
}
