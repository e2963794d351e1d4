export type { PortcullisClientOptions, RequestOptions } from './client.js';
export { PortcullisClient } from './client.js';
export type { ApiErrorBody, NetworkErrorReason, RateLimit, SdkErrorCode } from './errors.js';
export {
  ApiError,
  AuthenticationError,
  BrowserEnvironmentError,
  ConfigurationError,
  InsecureTransportError,
  InvalidResponseError,
  NetworkError,
  PortcullisSdkError,
  RateLimitError,
  RedirectError,
  TimeoutError,
  UnsafeTokenStoreError,
} from './errors.js';
export type { SdkEventName, SdkEvents, SdkListener } from './events.js';
export { FileTokenStore } from './file-token-store.js';
export type { ReleaseLock, StoredToken, TokenStore } from './token-store.js';
export { MemoryTokenStore, tokenStoreKey } from './token-store.js';
export type { FetchFunction } from './transport.js';
