import { describe, expect, it } from 'vitest';
import { signToken, verifyToken } from './signed-token';

const secret = 'a-test-secret-that-is-long-enough-1234';
const later = new Date(Date.now() + 3_600_000);

describe('signed tokens', () => {
  it('verify for their purpose and subject until they expire', () => {
    const token = signToken(secret, 'unsubscribe', '42', later);
    expect(verifyToken(secret, 'unsubscribe', token)).toBe('42');
    expect(verifyToken(secret, 'bind-wechat', token)).toBeNull();
    expect(verifyToken(secret, 'unsubscribe', token, new Date(later.getTime() + 1000))).toBeNull();
  });

  it('refuse forgeries: another secret, an edited body, garbage', () => {
    const token = signToken(secret, 'unsubscribe', '42', later);
    expect(verifyToken('another-secret-that-is-long-enough-123', 'unsubscribe', token)).toBeNull();
    const [, sig] = token.split('.');
    const forgedBody = Buffer.from(JSON.stringify({ p: 'unsubscribe', s: '43', e: later.getTime() / 1000 })).toString('base64url');
    expect(verifyToken(secret, 'unsubscribe', `${forgedBody}.${sig}`)).toBeNull();
    for (const junk of ['', '.', 'abc', 'a.b.c', `${token}x`]) expect(verifyToken(secret, 'unsubscribe', junk)).toBeNull();
  });
});
