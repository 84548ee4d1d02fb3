import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decryptMessage, encryptMessage, msgSignature, verifyMsgSignature, verifySignature, WechatCryptoError } from './wechat-crypto';

// Vectors from Tencent's WXBizMsgCrypt samples (the C# Sample.cs and the Java WXBizMsgCryptTest).
const SAMPLE = {
  token: 'QDG6eK',
  appId: 'wx5823bf96d3bd56c7',
  key: 'jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C',
  timestamp: '1409659813',
  nonce: '1372623149',
  msgSignature: '477715d11cdb4164915debcba66cb864d751f3e6',
  encrypt:
    'RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==',
};

describe('signatures', () => {
  it('signature is sha1 over the sorted token, timestamp and nonce', () => {
    const sig = createHash('sha1').update(['1409659813', '1372623149', 'QDG6eK'].sort().join('')).digest('hex');
    expect(verifySignature('QDG6eK', '1409659813', '1372623149', sig)).toBe(true);
    expect(verifySignature('QDG6eK', '1409659813', '1372623149', sig.toUpperCase())).toBe(true);
    expect(verifySignature('other', '1409659813', '1372623149', sig)).toBe(false);
    expect(verifySignature('QDG6eK', '1409659814', '1372623149', sig)).toBe(false);
    expect(verifySignature('QDG6eK', '1409659813', '1372623149', 'short')).toBe(false);
  });

  it('msg_signature matches the sample', () => {
    expect(msgSignature(SAMPLE.token, SAMPLE.timestamp, SAMPLE.nonce, SAMPLE.encrypt)).toBe(SAMPLE.msgSignature);
    expect(verifyMsgSignature(SAMPLE.token, SAMPLE.timestamp, SAMPLE.nonce, SAMPLE.encrypt, SAMPLE.msgSignature)).toBe(true);
    expect(verifyMsgSignature(SAMPLE.token, SAMPLE.timestamp, SAMPLE.nonce, `${SAMPLE.encrypt}x`, SAMPLE.msgSignature)).toBe(false);
  });
});

describe('safe-mode encryption', () => {
  it('decrypts the sample, keeping a MsgId above 2^53 as text', () => {
    const xml = decryptMessage(SAMPLE.key, SAMPLE.appId, SAMPLE.encrypt);
    expect(xml).toMatch(/^<xml><ToUserName><!\[CDATA\[wx5823bf96d3bd56c7\]\]><\/ToUserName>/);
    expect(xml).toContain('<MsgId>4561255354251345929</MsgId>');
  });

  it('encrypts as the sample does for a given random prefix', () => {
    const out = encryptMessage(
      'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
      'wxb11529c136998cb6',
      '我是中文abcd123',
      Buffer.from('aaaabbbbccccdddd'),
    );
    expect(out).toBe('jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg==');
  });

  it('round-trips any XML, padding to 32-byte blocks', () => {
    for (const xml of ['', '<xml/>', '<xml>中文 and text</xml>', 'x'.repeat(1000)]) {
      const encrypted = encryptMessage(SAMPLE.key, 'wxapp', xml);
      expect(Buffer.from(encrypted, 'base64').length % 32).toBe(0);
      expect(decryptMessage(SAMPLE.key, 'wxapp', encrypted)).toBe(xml);
    }
  });

  it('refuses a message for another appid, or one that was tampered with', () => {
    const encrypted = encryptMessage(SAMPLE.key, 'wxother', '<xml/>');
    expect(() => decryptMessage(SAMPLE.key, 'wxapp', encrypted)).toThrow(WechatCryptoError);
    const bytes = Buffer.from(SAMPLE.encrypt, 'base64');
    bytes[bytes.length - 1] ^= 0xff;
    expect(() => decryptMessage(SAMPLE.key, SAMPLE.appId, bytes.toString('base64'))).toThrow(WechatCryptoError);
    expect(() => decryptMessage(SAMPLE.key, SAMPLE.appId, 'not base64 at all')).toThrow(WechatCryptoError);
    expect(() => decryptMessage('short', SAMPLE.appId, SAMPLE.encrypt)).toThrow(WechatCryptoError);
  });
});
