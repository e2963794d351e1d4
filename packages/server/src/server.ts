import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Gateway } from './api/gateway.js';
import { AuditCounter } from './audit/audit-counter.js';
import type { ChangeSignal } from './cluster/change-signal.js';
import { type ResolvedServerOptions, resolveServerOptions, type ServerOptions } from './config.js';
import type { ChangeBatch } from './domain/records.js';
import { createRequestHandler } from './http/app.js';
import { ReadinessProbe } from './http/health.js';
import { RouteTable, routes } from './http/routes.js';
import { AccessTokens } from './keys/access-tokens.js';
import { AdminDirectory } from './keys/admin-directory.js';
import { AdminSessions } from './keys/admin-sessions.js';
import { CredentialDirectory } from './keys/credential-directory.js';
import { CredentialRehashes } from './keys/credential-rehashes.js';
import { IntrospectorDirectory } from './keys/introspector-directory.js';
import { KeyUsage } from './keys/key-usage.js';
import { readServerSecrets, type ServerSecrets } from './keys/server-secret.js';
import { prepareServerSecrets, secretRecordLine } from './keys/server-secret-check.js';
import { ApiKeyVerifier } from './keys/verify-api-key.js';
import { ClientLimits } from './limits/client-limits.js';
import { FailedAuthentications } from './limits/failed-authentications.js';
import { type CounterFactory, inProcessCounters } from './limits/window-counter.js';
import { type Metrics, NO_METRICS, PrometheusMetrics } from './metrics/metrics.js';
import type { MetricsPeers } from './metrics/snapshots.js';
import { addressKey, ConnectionPeers } from './net/client-address.js';
import { TlsOnlyListener } from './net/listener.js';
import { TrustedProxies } from './net/trusted-proxies.js';
import { CredentialExposure } from './oauth/credential-exposure.js';
import type { Services } from './services.js';
import { openStore } from './store/open-store.js';
import type { Store } from './store/store.js';
import { loadOrCreateTlsMaterial, type TlsMaterial } from './tls/certificate.js';

/**
 * Background work runs on the change-poll tick, each task at its own interval. Key usage and counted audit
 * events are written every FLUSH_MS: a crash loses at most that much of either, never a key change.
 */
const FLUSH_MS = 5_000;
const PURGE_MS = 60_000;
/** Change records are kept long after every process has read them (they poll every few hundred ms). */
const CHANGE_RETENTION_MS = 24 * 60 * 60 * 1000;

/** What a server can be given instead of building it from its options. */
export interface ServerDependencies {
  /** The store to use (the server then owns it and closes it). */
  readonly store?: Store;
  /** Where limit counters live, e.g. a cluster's primary process. Default: Redis with `cache`, else here. */
  readonly counters?: CounterFactory;
  /** How this process and the others tell each other of changes. Default: Redis with `cache`, else none. */
  readonly changeSignal?: ChangeSignal;
  /** The other workers of `serve --workers N`, whose metrics a scrape of this one shows too. */
  readonly metricsPeers?: MetricsPeers;
}

export interface PortcullisServer {
  readonly options: ResolvedServerOptions;
  readonly tls: TlsMaterial;
  readonly store: Store;
  /** The server secrets in use, current first (printed, they show fingerprints only). */
  readonly secrets: ServerSecrets;
  /** Access tokens issued since start, for tests and monitoring. */
  tokensIssued(): number;
  /** Starts listening; resolves with the public listener's address once both listeners accept connections. */
  listen(): Promise<AddressInfo>;
  /** The admin listener's address once listening; undefined before, or with `adminPort: 'off'`. */
  adminAddress(): AddressInfo | undefined;
  /** Stops accepting, drains in-flight requests, flushes pending writes and closes the store. */
  close(): Promise<void>;
}

/**
 * Builds a server. Nothing listens until `listen()`. The store is `options.store` (PostgreSQL) or the data
 * directory's SQLite file, unless another `Store` is given (the server then owns it and closes it).
 */
export async function createPortcullisServer(
  input: ServerOptions = {},
  dependencies: ServerDependencies = {},
): Promise<PortcullisServer> {
  const options = resolveServerOptions(input);
  const given = readServerSecrets({
    secrets: input.secrets,
    secretsFile: options.secretsFile,
    dataDir: options.dataDir,
  });
  const store =
    dependencies.store ?? (await openStore(options.store, options.dataDir, options.storeTimeoutMs));
  let secrets: ServerSecrets;
  try {
    const prepared = await prepareServerSecrets(store, given, options.dataDir);
    secrets = prepared.secrets;
    const line = secretRecordLine(prepared.record);
    if (line !== undefined) options.logger.info(`server_secret.${prepared.record.kind}`, { detail: line });
  } catch (error) {
    // Refused before anything else was opened or listened: nothing is left running.
    await store.close();
    throw error;
  }
  const cache =
    options.cache === undefined
      ? undefined
      : // Loaded only when asked for: the zero-setup path never loads the Redis client.
        new (await import('./cache/redis-cache.js')).RedisCache(options.cache, {
          keyPrefix: options.cachePrefix,
          timeoutMs: options.storeTimeoutMs,
        });
  // Requests are refused (503) while Redis is unreachable; waiting for it once here spares the first ones.
  await cache?.ready(options.storeTimeoutMs).catch((error: unknown) => {
    options.logger.warn('cache.unreachable', {
      detail: error instanceof Error ? error.message : String(error),
    });
  });
  const counters = dependencies.counters ?? cache?.counters ?? inProcessCounters;
  const changeSignal = dependencies.changeSignal ?? cache;
  const tls = await loadOrCreateTlsMaterial({
    dataDir: options.dataDir,
    host: options.host,
    certFile: options.tlsCert,
    keyFile: options.tlsKey,
  });
  // Cached credentials serve while the change feed is readable; past this, requests fail closed (503).
  const revocationBoundMs = Math.max(1000, options.changePollMs * 4);
  const directory = new CredentialDirectory(store, revocationBoundMs);
  // Every committed change, whoever wrote it here, drops this process's view of the client and tells the
  // other processes to read the feed now.
  store.onChange((clientIds) => {
    directory.invalidate(clientIds);
    changeSignal?.announce();
  });
  const audit = new AuditCounter();
  const rehashes = new CredentialRehashes();
  const peers = new ConnectionPeers();
  const trustedProxies = new TrustedProxies(options.trustProxy, peers);
  const readiness = new ReadinessProbe({
    store: () => store.latestChange(),
    cache: cache && (() => cache.ping()),
    // Read only when a request asks, after `listen()`: the background work is running by then.
    feedReadAt: () => background.lastReadAt(),
    feedBoundMs: revocationBoundMs,
    logger: options.logger,
  });
  // Without the admin listener nothing can be scraped, so nothing is recorded.
  const metrics: Metrics =
    options.adminPort === undefined
      ? NO_METRICS
      : new PrometheusMetrics({
          perClient: options.metricsPerClient,
          withCache: cache !== undefined,
          unready: () => readiness.unready(),
          feedReadAt: () => background.lastReadAt(),
          ...(!counters.shared && {
            limitKeysForgotten: () => ({
              ...services.limits.forgottenKeys,
              failed_authentication: services.failedAuthentications.forgottenKeys,
            }),
          }),
          peers: dependencies.metricsPeers,
        });
  const services: Services = {
    options,
    store,
    directory,
    apiKeys: new ApiKeyVerifier({ directory, secrets, environment: options.environment, rehashes }),
    tokens: new AccessTokens({ directory, secrets, environment: options.environment, metrics }),
    keyUsage: new KeyUsage(),
    limits: new ClientLimits(options.rateLimits, options.tokenLimit, audit, counters, metrics),
    failedAuthentications: new FailedAuthentications(
      options.failedAuthLimitPerClient,
      options.failedAuthLimitPerAddress,
      audit,
      counters,
      options.ipv6Prefix,
      metrics,
    ),
    audit,
    introspectors: new IntrospectorDirectory(store, revocationBoundMs, rehashes),
    admins: new AdminDirectory(store, secrets, revocationBoundMs, rehashes),
    adminSessions: new AdminSessions(store),
    secrets,
    logger: options.logger,
    readiness,
    metrics,
  };
  const exposure = new CredentialExposure(services);
  const gateway =
    options.upstream && new Gateway({ upstream: options.upstream, timeoutMs: options.upstreamTimeoutMs });
  const routeRows = routes(gateway);
  const logPlainHttp = (req: IncomingMessage) =>
    options.logger.warn('request.plain_http', {
      path: (req.url ?? '').split('?', 1)[0],
      credentialsSent: req.headers.authorization !== undefined,
      // The peer: the client, or a trusted proxy that did not say the client used HTTPS.
      clientAddress: req.socket.remoteAddress,
    });
  const listener = new TlsOnlyListener({
    cert: tls.cert,
    key: tls.key,
    handler: createRequestHandler(services, new RouteTable(routeRows, 'public'), (req) =>
      trustedProxies.clientAddress(req),
    ),
    limits: options.connectionLimits,
    trustedProxies,
    peers,
    proxyProtocol: options.proxyProtocol,
    addressKey: (address) => addressKey(address, options.ipv6Prefix),
    onPlainHttp: (req) => {
      logPlainHttp(req);
      exposure.checkAfterAnswer(req);
    },
  });
  const adminListener =
    options.adminPort === undefined ? undefined : createAdminListener(services, tls, routeRows, logPlainHttp);
  let adminAddress: AddressInfo | undefined;
  const background = startBackgroundWork(services, rehashes, await store.latestChange());
  changeSignal?.subscribe(() => background.readChangesNow());

  return {
    options,
    tls,
    store,
    secrets,
    tokensIssued: () => services.tokens.issuedCount,
    async listen() {
      const address = await listener.listen(options.port, options.host);
      if (adminListener !== undefined && options.adminPort !== undefined) {
        try {
          adminAddress = await adminListener.listen(options.adminPort, options.adminHost);
        } catch (error) {
          await listener.close(0);
          throw error;
        }
      }
      return address;
    },
    adminAddress: () => adminAddress,
    async close() {
      await Promise.all([
        listener.close(options.shutdownGraceMs),
        adminListener?.close(options.shutdownGraceMs),
      ]);
      await background.stop();
      metrics.stop();
      gateway?.close();
      await cache?.close();
      await store.close();
    },
  };
}

/**
 * The admin listener: TLS only, with the server's certificate, serving the admin rows of the route table.
 * No load balancer is trusted on it (it is meant for a private network): the peer is the client, and a
 * plain-HTTP request gets 400 like on the public port.
 */
function createAdminListener(
  services: Services,
  tls: TlsMaterial,
  routeRows: ReturnType<typeof routes>,
  logPlainHttp: (req: IncomingMessage) => void,
): TlsOnlyListener {
  const { options } = services;
  const peers = new ConnectionPeers();
  const noProxies = new TrustedProxies([], peers);
  return new TlsOnlyListener({
    cert: tls.cert,
    key: tls.key,
    handler: createRequestHandler(services, new RouteTable(routeRows, 'admin'), (req) =>
      noProxies.clientAddress(req),
    ),
    limits: options.connectionLimits,
    trustedProxies: noProxies,
    peers,
    proxyProtocol: false,
    addressKey: (address) => addressKey(address, options.ipv6Prefix),
    onPlainHttp: logPlainHttp,
  });
}

/**
 * Keys written per statement when key usage is flushed. With SQLite a statement holds the event loop
 * (about 6 ms per 1,000 keys measured), so 100,000 active keys written at once paused every request for
 * about half a second; between chunks, requests waiting are served.
 */
const KEY_USE_CHUNK = 500;

async function recordKeyUseInChunks(store: Store, used: ReadonlyMap<string, number>): Promise<void> {
  let chunk = new Map<string, number>();
  for (const [keyId, at] of used) {
    chunk.set(keyId, at);
    if (chunk.size < KEY_USE_CHUNK) continue;
    await store.recordKeyUse(chunk);
    chunk = new Map();
    await new Promise((resolve) => setImmediate(resolve));
  }
  await store.recordKeyUse(chunk);
}

/**
 * Reads the store's change feed so that changes made by the CLI or another process reach this one's
 * caches, writes batched key usage, keys moved to the current server secret and audit counts, records
 * keys that expired, forgets expired tokens and prunes old change records.
 */
function startBackgroundWork(
  services: Services,
  rehashes: CredentialRehashes,
  initialChange: number,
): { readChangesNow(): void; lastReadAt(): number; stop(): Promise<void> } {
  const { store, directory, tokens, keyUsage, audit, logger, options } = services;
  let lastChange = initialChange;
  let lastFlush = Date.now();
  let lastPurge = 0;
  let running: Promise<void> = Promise.resolve();

  let lastRead = Date.now();
  const flush = async () => {
    await recordKeyUseInChunks(store, keyUsage.take());
    const pending = rehashes.take();
    if (pending.length > 0) {
      await store.rehashCredentials(pending.map(({ rehash }) => rehash));
      // This process's entries hold the old HMACs; other processes find the new ones by reading through.
      directory.invalidate(pending.flatMap(({ clientId }) => (clientId === undefined ? [] : [clientId])));
    }
    const counted = audit.take();
    if (counted.length === 0) return;
    try {
      await store.appendAuditEvents(counted);
    } catch (error) {
      audit.restore(counted);
      throw error;
    }
  };
  const readChanges = async () => {
    const now = Date.now();
    let batch: ChangeBatch;
    try {
      batch = await store.changesSince(lastChange);
    } catch (error) {
      directory.setStaleSince(lastRead);
      throw error;
    }
    lastRead = now;
    directory.setStaleSince(undefined);
    lastChange = batch.latest;
    directory.invalidate(batch.clientIds);
  };
  const tick = async () => {
    await readChanges();
    const now = Date.now();
    if (now - lastFlush >= FLUSH_MS) {
      lastFlush = now;
      await flush();
    }
    if (now - lastPurge >= PURGE_MS) {
      lastPurge = now;
      tokens.sweep(now);
      await store.recordExpiredKeys(now);
      await store.pruneChanges(now - CHANGE_RETENTION_MS);
    }
  };
  const run = (task: () => Promise<void>) => {
    running = running.then(task).catch((error: unknown) => {
      logger.error('background.failed', { detail: error instanceof Error ? error.message : String(error) });
    });
  };
  const timer = setInterval(() => run(tick), options.changePollMs);
  timer.unref();
  let readQueued = false;

  return {
    /** Another node announced a change: read the feed now rather than at the next poll. */
    readChangesNow() {
      if (readQueued) return;
      readQueued = true;
      run(async () => {
        readQueued = false;
        await readChanges();
      });
    },
    /** When the change feed was last read successfully (at start, until the first read). */
    lastReadAt: () => lastRead,
    async stop() {
      clearInterval(timer);
      await running;
      await flush();
    },
  };
}
