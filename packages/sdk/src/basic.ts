/**
 * `Authorization: Basic` for client authentication (RFC 6749 §2.3.1): ClientId and key are each
 * form-encoded (Appendix B) before base64. For the characters ClientIds and keys use in practice, the
 * encoding changes nothing, so this matches plain RFC 7617 Basic as MANGOPAY documents it.
 */
export function basicAuthorization(clientId: string, apiKey: string): string {
  return `Basic ${Buffer.from(`${formEncode(clientId)}:${formEncode(apiKey)}`, 'utf8').toString('base64')}`;
}

function formEncode(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice(2);
}
