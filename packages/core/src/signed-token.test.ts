import { describe, expect, it } from 'vitest';
import { redactSignedTokens, signToken, verifyToken } from './signed-token';

const secret = 'a-test-secret-that-is-long-enough-1234';
const later = new Date(Date.now() + 3_600_000);

describe('signed tokens', () => {
  it('verify for their purpose and subject until they expire', () => {
    const token = signToken(secret, 'unsubscribe', '42', later);
    expect(verifyToken(secret, 'unsubscribe', token)).toBe('42');
    expect(verifyToken(secret, 'bind-wechat', token)).toBeNull();
    expect(verifyToken(secret, 'unsubscribe', token, new Date(later.getTime() + 1000))).toBeNull();
  });

  it('are short enough for an SMS', () => {
    expect(signToken(secret, 'unsubscribe', '123456789', later).length).toBeLessThanOrEqual(40);
  });

  it('refuse forgeries: another secret, an edited body, garbage', () => {
    const token = signToken(secret, 'unsubscribe', '42', later);
    expect(verifyToken('another-secret-that-is-long-enough-123', 'unsubscribe', token)).toBeNull();
    const [, expiry, sig] = token.split('.');
    expect(verifyToken(secret, 'unsubscribe', `43.${expiry}.${sig}`)).toBeNull(); // another subject
    expect(verifyToken(secret, 'unsubscribe', `42.${(Number.parseInt(expiry, 36) + 86_400).toString(36)}.${sig}`)).toBeNull(); // a later expiry
    for (const junk of ['', '.', 'abc', 'a.b.c', `${token}x`]) expect(verifyToken(secret, 'unsubscribe', junk)).toBeNull();
  });

  it('are starred out of a text by redactSignedTokens, keeping their length, and nothing else is', () => {
    const token = signToken(secret, 'unsubscribe', '42', later);
    const session = signToken(secret, 'ops-session', 'Ab_c-D9xYz', later);
    const text = `退订 https://x.example/u/${token}, or <a href="/p/${session}">here</a>. v1.2.3 pp_abcdefghijklmnopqrstuvwxyz0123`;
    const redacted = redactSignedTokens(text);
    expect(redacted.length).toBe(text.length);
    expect(redacted).toContain(`/u/${token.slice(0, -22)}${'*'.repeat(22)},`);
    expect(redacted).toContain(`/p/${session.slice(0, -22)}${'*'.repeat(22)}"`);
    expect(redacted).toContain('v1.2.3 pp_abcdefghijklmnopqrstuvwxyz0123');
    expect(verifyToken(secret, 'unsubscribe', redacted.match(/\/u\/(\S+),/)![1])).toBeNull();
  });
});
