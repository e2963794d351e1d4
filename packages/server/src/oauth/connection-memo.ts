/**
 * Remembers, per connection, the last `Authorization` value that was verified and what it resolved to, so
 * that a keep-alive client sending the same header again skips decoding and cryptography. The value is
 * only ever compared with what the same connection sent before, never with another client's secret; what
 * it resolved to (a key hash, token claims) is still checked against the directory on every request, so
 * revocation applies at once.
 */
export class ConnectionMemo<T> {
  readonly #memo = new WeakMap<object, { readonly authorization: string; readonly value: T }>();

  get(connection: object, authorization: string): T | undefined {
    const remembered = this.#memo.get(connection);
    return remembered !== undefined && remembered.authorization === authorization
      ? remembered.value
      : undefined;
  }

  set(connection: object, authorization: string, value: T): void {
    this.#memo.set(connection, { authorization, value });
  }
}
