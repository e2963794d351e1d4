import type { Logger } from '../log.js';
import type { Readiness, ReadinessPart, Services } from '../services.js';
import type { Exchange } from '../wire/exchange.js';
import { checkReadOnlyRequest } from '../wire/request.js';
import { sendJsonText } from '../wire/respond.js';

/** Load balancers and orchestrators probe often: no answer of theirs may be cached on the way. */
const NO_STORE = Object.freeze({ 'Cache-Control': 'no-store' });

/**
 * `GET /healthz`: 200 while the process serves requests at all. No credentials: an Authorization header,
 * if sent, is not read.
 */
export async function handleLiveness(_services: Services, exchange: Exchange): Promise<void> {
  checkReadOnlyRequest(exchange.req, exchange.query);
  sendJsonText(exchange.res, 200, '{"status":"ok"}', NO_STORE);
}

/**
 * `GET /readyz`: 200 when the store and the cache answer and the change feed has been read within the
 * revocation bound; otherwise 503 naming the parts that are not ready, and nothing of why (the cause is
 * logged).
 */
export async function handleReadiness(
  services: Pick<Services, 'readiness'>,
  exchange: Exchange,
): Promise<void> {
  checkReadOnlyRequest(exchange.req, exchange.query);
  const failing = await services.readiness.unready();
  if (failing.length === 0) {
    sendJsonText(exchange.res, 200, '{"status":"ready"}', NO_STORE);
    return;
  }
  sendJsonText(exchange.res, 503, JSON.stringify({ status: 'unready', failing }), NO_STORE);
}

/** How long a probe of the store or the cache may take before that part counts as not ready. */
const PROBE_TIMEOUT_MS = 1000;
/** A probe's answer is reused this long: many balancers probing often cost one store query a second. */
const PROBE_REUSE_MS = 1000;

export interface ReadinessSources {
  /** A cheap query that fails when the store cannot be reached. */
  readonly store: () => Promise<unknown>;
  /** A round trip to the cache (Redis), when the server uses one. */
  readonly cache: (() => Promise<unknown>) | undefined;
  /** When the change feed was last read successfully (`Date.now()` time). */
  readonly feedReadAt: () => number;
  /** How old that read may be: the revocation bound, past which cached credentials stop serving. */
  readonly feedBoundMs: number;
  readonly logger: Logger;
}

/**
 * Readiness from the store, the cache and the change feed. The store and cache probes are shared: one
 * runs at a time and its answer serves every request for PROBE_REUSE_MS. The feed's age is read live.
 * A part that turns unready is logged once, with its cause; its recovery too.
 */
export class ReadinessProbe implements Readiness {
  readonly #sources: ReadinessSources;
  #probe: { readonly started: number; readonly failing: Promise<readonly ReadinessPart[]> } | undefined;
  readonly #failing = new Set<ReadinessPart>();

  constructor(sources: ReadinessSources) {
    this.#sources = sources;
  }

  async unready(): Promise<readonly ReadinessPart[]> {
    const now = performance.now();
    if (this.#probe === undefined || now - this.#probe.started >= PROBE_REUSE_MS) {
      this.#probe = { started: now, failing: this.#probeServices() };
    }
    const failing = [...(await this.#probe.failing)];
    if (Date.now() - this.#sources.feedReadAt() > this.#sources.feedBoundMs) failing.push('change_feed');
    return failing;
  }

  async #probeServices(): Promise<readonly ReadinessPart[]> {
    const { store, cache } = this.#sources;
    const [storeFailed, cacheFailed] = await Promise.all([
      this.#check('store', store),
      cache === undefined ? false : this.#check('cache', cache),
    ]);
    return [...(storeFailed ? (['store'] as const) : []), ...(cacheFailed ? (['cache'] as const) : [])];
  }

  /** True when `part` failed its probe. */
  async #check(part: ReadinessPart, probe: () => Promise<unknown>): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer within ${PROBE_TIMEOUT_MS} ms`)),
        PROBE_TIMEOUT_MS,
      );
    });
    try {
      await Promise.race([probe(), timeout]);
      if (this.#failing.delete(part)) this.#sources.logger.info('readiness.ready', { part });
      return false;
    } catch (error) {
      if (!this.#failing.has(part)) {
        this.#failing.add(part);
        this.#sources.logger.warn('readiness.unready', {
          part,
          detail: error instanceof Error ? error.message : String(error),
        });
      }
      return true;
    } finally {
      clearTimeout(timer);
    }
  }
}
