import { NetworkError, RedirectError, TimeoutError } from './errors.js';

export type FetchFunction = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** The statuses fetch would follow (Fetch Standard, "redirect status"; RFC 9110 §15.4). */
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/**
 * Sends one request with a timeout (AbortSignal.timeout) joined to the caller's signal, mapping failures to
 * typed errors. Every request it sends carries credentials, so redirects are never followed, whatever the
 * caller's `init` says: a redirect would carry the key or token (and, on a 307 or 308, the body) to a URL the
 * server chose, and accept whatever answers there, such as a token served by another origin. Neither
 * Portcullis nor MANGOPAY redirects these requests, so a redirect is refused (RedirectError) rather than
 * followed even within the same origin, where it could still leave the base URL's path.
 */
export function createTransport(fetchFunction: FetchFunction, timeoutMs: number) {
  return async (url: string, init: RequestInit): Promise<Response> => {
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
    let response: Response;
    try {
      response = await fetchFunction(url, { ...init, redirect: 'manual', signal });
    } catch (error) {
      if (init.signal?.aborted) throw init.signal.reason;
      if (timeout.aborted) throw new TimeoutError(timeoutMs);
      throw new NetworkError(error);
    }
    if (REDIRECT_STATUSES.has(response.status)) {
      await response.body?.cancel();
      throw new RedirectError(response.status, response.headers.get('location'));
    }
    // A fetch function that followed anyway: too late for what it sent, but its answer is not used.
    if (response.redirected) {
      await response.body?.cancel();
      throw new RedirectError(response.status, response.url);
    }
    return response;
  };
}

export type Transport = ReturnType<typeof createTransport>;
