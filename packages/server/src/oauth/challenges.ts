/** WWW-Authenticate challenges (RFC 7235 §4.1, RFC 7617 §2, RFC 6750 §3). */
const REALM = 'portcullis';

export const basicChallenge = `Basic realm="${REALM}", charset="UTF-8"`;

export function bearerChallenge(error?: { code: string; description: string }): string {
  if (error === undefined) return `Bearer realm="${REALM}"`;
  return `Bearer realm="${REALM}", error="${error.code}", error_description="${error.description}"`;
}
