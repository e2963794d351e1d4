import { NetworkError, TimeoutError } from './errors.js';

export type FetchFunction = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** Sends one request with a timeout (AbortSignal.timeout) joined to the caller's signal, mapping failures to typed errors. */
export function createTransport(fetchFunction: FetchFunction, timeoutMs: number) {
  return async (url: string, init: RequestInit): Promise<Response> => {
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
    try {
      return await fetchFunction(url, { ...init, signal });
    } catch (error) {
      if (init.signal?.aborted) throw init.signal.reason;
      if (timeout.aborted) throw new TimeoutError(timeoutMs);
      throw new NetworkError(error);
    }
  };
}

export type Transport = ReturnType<typeof createTransport>;
