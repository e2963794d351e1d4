import { ApiError, NetworkError } from '@portcullis/sdk';

/** What `token` and `call` were pointed at, for hints that name the flag to change. */
export interface CallTarget {
  readonly baseUrl: string;
  /** The certificate trusted: `--ca-file`, or the data directory's; none means the system's. */
  readonly caFile: string | undefined;
}

/**
 * The SDK's error in the CLI's words: a network failure with the flag that fixes it, an API error with its
 * field errors (MANGOPAY's `errors` object), on one line. Other errors pass as they are.
 */
export function explained(error: unknown, target: CallTarget): unknown {
  if (error instanceof NetworkError) {
    const hint = networkHint(error, target);
    return hint === undefined ? error : new Error(`${error.message}: ${hint}`, { cause: error });
  }
  if (error instanceof ApiError && error.body.errors) {
    const fields = Object.entries(error.body.errors).map(([field, problem]) => `${field}: ${problem}`);
    if (fields.length > 0) return new Error(`${error.message} (${fields.join('; ')})`, { cause: error });
  }
  return error;
}

function networkHint(error: NetworkError, { baseUrl, caFile }: CallTarget): string | undefined {
  switch (error.reason) {
    case 'certificate_untrusted':
      return caFile === undefined
        ? "give the server's certificate with --ca-file FILE (a self-signed server on this machine: tls-cert.pem in its --data-dir)"
        : `${caFile} is not the server's certificate: give the right one with --ca-file FILE`;
    case 'certificate_name_mismatch':
      return `give --base-url with a host name the certificate names (now ${baseUrl})`;
    case 'connection_refused':
      return `is the server running at ${baseUrl}? (--base-url)`;
    case 'name_not_found':
      return `check the host in --base-url (now ${baseUrl})`;
    default:
      return undefined;
  }
}
