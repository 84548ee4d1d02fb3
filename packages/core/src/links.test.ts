import { describe, expect, it } from 'vitest';
import {
  contactIdFromPreferencesToken,
  deliveryIdFromOpenToken,
  emailConfirmationFromToken,
  emailConfirmationLink,
  messageLinks,
  openLink,
  preferencesLink,
  UNSUBSCRIBE_PURPOSE,
  unsubscribeLink,
  withoutLinkTokens,
} from './links';
import { signToken, verifyToken } from './signed-token';

const secret = 'a-test-secret-that-is-long-enough-1234';
const now = new Date('2030-03-01T00:00:00Z');
const day = 86_400_000;
const tokenOf = (link: string) => link.split('/').pop()!;

describe('preferences links', () => {
  it('name the contact for 30 days, under the public base URL', () => {
    const link = preferencesLink('https://push.example.org/', secret, 42, now);
    expect(link).toMatch(/^https:\/\/push\.example\.org\/p\/42\.[0-9a-z]+\.[A-Za-z0-9_-]{22}$/);
    expect(contactIdFromPreferencesToken(secret, tokenOf(link), new Date(now.getTime() + 29 * day))).toBe(42);
    expect(contactIdFromPreferencesToken(secret, tokenOf(link), new Date(now.getTime() + 30 * day))).toBeNull();
  });

  it('refuse another secret, another purpose, and a subject that is not a contact id', () => {
    const token = tokenOf(preferencesLink('https://push.example.org', secret, '42', now));
    expect(contactIdFromPreferencesToken('another-secret-that-is-long-enough-123', token, now)).toBeNull();
    const unsubscribe = signToken(secret, 'unsubscribe', '42', new Date(now.getTime() + day));
    expect(contactIdFromPreferencesToken(secret, unsubscribe, now)).toBeNull();
    for (const subject of ['0', '042', '4-2', '1234567890123456', 'abc']) {
      expect(
        contactIdFromPreferencesToken(secret, signToken(secret, 'preferences', subject, new Date(now.getTime() + day)), now),
      ).toBeNull();
    }
  });
});

describe('email confirmation links', () => {
  it('name the contact and its address for 7 days', () => {
    const link = emailConfirmationLink('https://push.example.org', secret, 7, 'Li.Lei@Example.com', now);
    expect(link).toMatch(/^https:\/\/push\.example\.org\/c\//);
    const confirmation = emailConfirmationFromToken(secret, tokenOf(link), new Date(now.getTime() + 6 * day))!;
    expect(confirmation.contactId).toBe(7);
    expect(confirmation.confirms('li.lei@example.com')).toBe(true);
    expect(confirmation.confirms('someone.else@example.com')).toBe(false);
    expect(confirmation.confirms(null)).toBe(false);
    expect(emailConfirmationFromToken(secret, tokenOf(link), new Date(now.getTime() + 7 * day))).toBeNull();
  });

  it('do not carry the address, and are not preferences links', () => {
    const token = tokenOf(emailConfirmationLink('https://push.example.org', secret, 7, 'li.lei@example.com', now));
    expect(Buffer.from(token.split('.')[0], 'base64url').toString()).not.toContain('example.com');
    expect(contactIdFromPreferencesToken(secret, token, now)).toBeNull();
    const preferences = tokenOf(preferencesLink('https://push.example.org', secret, 7, now));
    expect(emailConfirmationFromToken(secret, preferences, now)).toBeNull();
  });
});

describe('open links', () => {
  it('name the delivery in base 36 for 400 days, and stay short', () => {
    const link = openLink('https://push.example.org/', secret, 123456789, now);
    expect(link).toMatch(/^https:\/\/push\.example\.org\/r\/21i3v9\.[0-9a-z]+\.[A-Za-z0-9_-]{22}$/);
    expect(tokenOf(link).length).toBeLessThanOrEqual(36);
    expect(deliveryIdFromOpenToken(secret, tokenOf(link), new Date(now.getTime() + 399 * day))).toBe(123456789);
    expect(deliveryIdFromOpenToken(secret, tokenOf(link), new Date(now.getTime() + 400 * day))).toBeNull();
    expect(deliveryIdFromOpenToken(secret, tokenOf(openLink('https://x.example', secret, '999999999999999', now)), now)).toBe(
      999999999999999,
    );
  });

  it('refuse another secret, another purpose, a changed character and a subject that is not an id', () => {
    const token = tokenOf(openLink('https://push.example.org', secret, 42, now));
    expect(deliveryIdFromOpenToken('another-secret-that-is-long-enough-123', token, now)).toBeNull();
    expect(deliveryIdFromOpenToken(secret, signToken(secret, 'unsubscribe', '16', new Date(now.getTime() + day)), now)).toBeNull();
    const [subject, expiry, mac] = token.split('.');
    expect(deliveryIdFromOpenToken(secret, `${subject}.${expiry}.${mac.slice(0, -1)}${mac.endsWith('A') ? 'B' : 'A'}`, now)).toBeNull();
    expect(subject).toBe((42).toString(36));
    expect(deliveryIdFromOpenToken(secret, `17.${expiry}.${mac}`, now)).toBeNull();
    for (const s of ['0', '0a', 'A', '-1', 'zzzzzzzzzzz', '1:2']) {
      expect(deliveryIdFromOpenToken(secret, signToken(secret, 'open', s, new Date(now.getTime() + day)), now)).toBeNull();
    }
  });
});

describe("a message's links", () => {
  const now = new Date('2026-03-01T00:00:00Z');
  const tokenOf = (link: string) => link.slice(link.lastIndexOf('/') + 1);

  it('are the open, unsubscribe and preferences links of one delivery, for 400, 400 and 30 days', () => {
    const links = messageLinks('https://push.example.org/', secret, { deliveryId: 1234, contactId: 77 }, now);
    expect(links.policy).toBe(openLink('https://push.example.org', secret, 1234, now));
    expect(links.unsubscribe).toBe(unsubscribeLink('https://push.example.org', secret, 1234, now));
    expect(links.preferences).toBe(preferencesLink('https://push.example.org', secret, 77, now));
    expect(links.unsubscribe.startsWith('https://push.example.org/u/1234.')).toBe(true);
    const day = 86_400_000;
    expect(verifyToken(secret, UNSUBSCRIBE_PURPOSE, tokenOf(links.unsubscribe), new Date(now.getTime() + 399 * day))).toBe('1234');
    expect(verifyToken(secret, UNSUBSCRIBE_PURPOSE, tokenOf(links.unsubscribe), new Date(now.getTime() + 400 * day))).toBeNull();
  });

  it('lose their tokens, and only their tokens, in withoutLinkTokens', () => {
    const links = messageLinks('https://push.example.org', secret, { deliveryId: 1234, contactId: 77 }, now);
    const confirm = emailConfirmationLink('https://push.example.org', secret, 77, 'a@example.com', now);
    const text = `【广州发改】标题 ${links.policy} 退订 ${links.unsubscribe}\n${links.preferences}\n${confirm}`;
    expect(withoutLinkTokens(text)).toBe(
      '【广州发改】标题 https://push.example.org/r/… 退订 https://push.example.org/u/…\nhttps://push.example.org/p/…\nhttps://push.example.org/c/…',
    );
    // A policy's own address that merely looks alike is left alone.
    expect(withoutLinkTokens('https://gov.example.cn/c/2020.04.html')).toBe('https://gov.example.cn/c/2020.04.html');
  });
});
