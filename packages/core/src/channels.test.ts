import { describe, expect, it } from 'vitest';
import { CHANNELS, isChannel } from './channels';

describe('channels', () => {
  it('lists the three channels in their default order', () => {
    expect(CHANNELS).toEqual(['wechat', 'sms', 'email']);
  });

  it('recognises a channel name and nothing else', () => {
    for (const channel of CHANNELS) expect(isChannel(channel)).toBe(true);
    for (const other of ['', 'WeChat', 'fax', 'sandbox', undefined, null, 1]) expect(isChannel(other)).toBe(false);
  });
});
