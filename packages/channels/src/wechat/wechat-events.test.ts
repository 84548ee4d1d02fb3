import { describe, expect, it } from 'vitest';
import { interpretWechatEvent, parseWechatXml, wechatField } from './wechat-events';

const receipt = (status: string, msgid = '3147483648123456789', tag = 'MsgID') =>
  parseWechatXml(
    `<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[oUser0000001]]></FromUserName>` +
      `<CreateTime>1395658920</CreateTime><MsgType><![CDATA[event]]></MsgType>` +
      `<Event><![CDATA[TEMPLATESENDJOBFINISH]]></Event><${tag}>${msgid}</${tag}><Status><![CDATA[${status}]]></Status></xml>`,
  )!;

describe('reading WeChat events', () => {
  it('keeps every value as text, a MsgID above 2^53 exact', () => {
    const fields = receipt('success');
    expect(fields.MsgID).toBe('3147483648123456789');
    expect(fields.CreateTime).toBe('1395658920');
    expect(wechatField(fields, 'msgid')).toBe('3147483648123456789');
  });

  it.each([
    ['success', { status: 'delivered' }, false],
    ['failed:user block', { status: 'failed', errorCode: 'user_block' }, true],
    ['failed: system failed', { status: 'undelivered', errorCode: 'system_failed' }, false],
    ['failed:freq limit', { status: 'undelivered', errorCode: 'freq_limit' }, false],
  ])('%s', (status, expected, blocked) => {
    expect(interpretWechatEvent(receipt(status))).toEqual({
      kind: 'receipt',
      openid: 'oUser0000001',
      blocked,
      receipt: {
        channel: 'wechat',
        providerMessageId: '3147483648123456789',
        occurredAt: new Date(1395658920 * 1000),
        payload: receipt(status),
        ...expected,
      },
    });
  });

  it('matches MsgId in any case', () => {
    expect(interpretWechatEvent(receipt('success', '200163836', 'MsgId'))).toMatchObject({ receipt: { providerMessageId: '200163836' } });
  });

  it('ignores receipts without a usable MsgID or status, and other messages', () => {
    expect(interpretWechatEvent(receipt('success', 'abc'))).toMatchObject({ kind: 'ignored' });
    expect(interpretWechatEvent(receipt('pending'))).toMatchObject({ kind: 'ignored' });
    const text = parseWechatXml('<xml><FromUserName>oUser0000001</FromUserName><MsgType>text</MsgType><Content>hi</Content></xml>')!;
    expect(interpretWechatEvent(text)).toMatchObject({ kind: 'ignored' });
  });

  it('reads follow events and their scenes', () => {
    const event = (e: string, key?: string) =>
      interpretWechatEvent({ FromUserName: 'oUser0000001', MsgType: 'event', Event: e, ...(key === undefined ? {} : { EventKey: key }) });
    expect(event('subscribe', 'qrscene_b.1.x.y')).toEqual({ kind: 'follow', openid: 'oUser0000001', scene: 'b.1.x.y' });
    expect(event('SCAN', 'b.1.x.y')).toEqual({ kind: 'follow', openid: 'oUser0000001', scene: 'b.1.x.y' });
    expect(event('subscribe')).toEqual({ kind: 'follow', openid: 'oUser0000001', scene: null });
    expect(event('unsubscribe')).toEqual({ kind: 'unsubscribe', openid: 'oUser0000001' });
  });

  it('refuses what is not a WeChat XML message', () => {
    expect(parseWechatXml('not xml <')).toBeNull();
    expect(parseWechatXml('<other><a>1</a></other>')).toBeNull();
    expect(parseWechatXml('')).toBeNull();
  });
});
