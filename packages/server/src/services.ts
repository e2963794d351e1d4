import type { ResolvedServerOptions } from './config.js';
import type { CredentialDirectory } from './keys/credential-directory.js';
import type { KeyUsage } from './keys/key-usage.js';
import type { ApiKeyVerifier } from './keys/verify-api-key.js';
import type { FailedAuthentications } from './limits/failed-authentications.js';
import type { FixedWindows } from './limits/fixed-windows.js';
import type { Logger } from './log.js';
import type { AccessTokens } from './oauth/access-tokens.js';
import type { Store } from './store/store.js';

/** What request handlers share: built once per server in server.ts, read-only afterwards. */
export interface Services {
  readonly options: ResolvedServerOptions;
  readonly store: Store;
  readonly directory: CredentialDirectory;
  readonly apiKeys: ApiKeyVerifier;
  readonly tokens: AccessTokens;
  readonly keyUsage: KeyUsage;
  /** API calls per client (MANGOPAY's windows). */
  readonly apiCalls: FixedWindows;
  /** Tokens issued per client. */
  readonly tokenIssuance: FixedWindows;
  /** Brute-force protection. */
  readonly failedAuthentications: FailedAuthentications;
  readonly logger: Logger;
}
