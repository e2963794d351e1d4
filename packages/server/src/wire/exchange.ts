import type { IncomingMessage, ServerResponse } from 'node:http';

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
}
