import type { IncomingMessage, ServerResponse } from 'node:http';

/** Who a request authenticated as: a client's key (Basic or a Bearer token), an introspector or an admin. */
export type Caller =
  | { readonly method: 'basic' | 'bearer'; readonly clientId: string; readonly keyId: string }
  | { readonly method: 'basic'; readonly introspector: string }
  | { readonly method: 'bearer' | 'session'; readonly admin: string };

/** One request and its answer, as the router hands them to a route: read once, passed down as is. */
export interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** The request target's path, before `?`, undecoded. */
  readonly path: string;
  /** What follows the first `?`, undecoded; empty when there is none. */
  readonly query: string;
  /** The client's address: the peer's, or the one a trusted proxy forwarded. Worked out once. */
  readonly clientAddress: string;
  /** When the request was taken up, in Unix epoch milliseconds: every step of it uses this time. */
  readonly now: number;
  /** This request's id, made when first asked for: in error answers, to the upstream, in the log. */
  readonly requestId: string;
  /** Set by the step that authenticated the request, for its access log line. */
  caller: Caller | undefined;
  /** The route's name, for the access line and metrics; a route may name the operation more precisely. */
  route: string;
}
