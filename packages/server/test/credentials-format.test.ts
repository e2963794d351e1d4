import { describe, expect, it } from 'vitest';
import { generateApiKey, parseApiKey } from '../src/keys/api-key.js';
import { isValidClientId } from '../src/keys/client-id.js';
import { parseBasicAuthorization } from '../src/oauth/basic-credentials.js';

describe('API key format', () => {
  it('names the environment, carries a checksum, and uses only characters Appendix B leaves alone', () => {
    const key = generateApiKey('production');
    expect(key).toMatch(/^pcl_production_[0-9A-Za-z]{38}$/);
    expect(parseApiKey(key)).toEqual({ ok: true, environment: 'production' });
    expect(new URLSearchParams({ k: key }).toString()).toBe(`k=${key}`);
  });

  it('refuses every single-character typo by its checksum, without a lookup', () => {
    const key = generateApiKey('sandbox');
    const random = key.slice('pcl_sandbox_'.length);
    for (let i = 0; i < random.length; i++) {
      const replacement = random[i] === 'a' ? 'b' : 'a';
      const typo = `pcl_sandbox_${random.slice(0, i)}${replacement}${random.slice(i + 1)}`;
      expect(parseApiKey(typo)).toEqual({ ok: false, reason: 'checksum' });
    }
    expect(parseApiKey(key.slice(0, -1))).toEqual({ ok: false, reason: 'malformed' });
    expect(parseApiKey(key.replace('sandbox', 'staging'))).toEqual({ ok: false, reason: 'malformed' });
  });
});

describe('ClientId syntax', () => {
  it.each(['a', 'Acme_Corp-2', 'x'.repeat(64)])('accepts %s', (id) => expect(isValidClientId(id)).toBe(true));
  it.each(['', 'x'.repeat(65), 'a b', 'a:b', 'é', 'oauth', 'pcl_sandbox_x'])('refuses %j', (id) =>
    expect(isValidClientId(id)).toBe(false),
  );
});

describe('RFC 7617 Basic credentials with RFC 6749 Appendix B decoding', () => {
  const encode = (text: string) => `Basic ${Buffer.from(text, 'utf8').toString('base64')}`;

  it("decodes the example of MANGOPAY's documentation", () => {
    expect(parseBasicAuthorization('Basic QWxhZGRpbjpnaHNpdTZoanFRamo=')).toEqual({
      ok: true,
      credentials: { clientId: 'Aladdin', secret: 'ghsiu6hjqQjj' },
    });
  });

  it('splits at the first colon (RFC 7617 §2) and form-decodes each side', () => {
    expect(parseBasicAuthorization(encode('a%3Ab:c:d'))).toEqual({
      ok: true,
      credentials: { clientId: 'a:b', secret: 'c:d' },
    });
    expect(parseBasicAuthorization(encode('a+b:c'))).toEqual({
      ok: true,
      credentials: { clientId: 'a b', secret: 'c' },
    });
  });

  it.each([
    ['Basic', 'no credentials'],
    ['Basic YWJj', 'no colon'],
    ['Basic YWJjOg', 'missing padding'],
    ['Basic YW Jj', 'space inside'],
    [encode('%zz:x'), 'broken percent-encoding'],
    [encode(':x'), 'empty ClientId'],
  ])('refuses %j (%s)', (header) => {
    expect(parseBasicAuthorization(header).ok).toBe(false);
  });
});
