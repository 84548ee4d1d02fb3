import { describe, expect, it } from 'vitest';
import { explainErrorCode } from './error-explanations';
import { SANDBOX_CODES } from './sandbox/magic-recipients';

describe('explainErrorCode', () => {
  it('says what a provider code means, per channel', () => {
    expect(explainErrorCode('sms', '21610')).toMatchObject({ known: true, en: expect.stringContaining('STOP') });
    expect(explainErrorCode('wechat', 'user_block')).toMatchObject({ known: true, zh: expect.stringContaining('拒收') });
    // The same number means something else on another channel: not guessed.
    expect(explainErrorCode('email', '21610').known).toBe(false);
  });

  it('reads SMTP replies by their enhanced status class', () => {
    expect(explainErrorCode('email', 'SMTP_550_5.1.1').en).toBe('no such mailbox address');
    expect(explainErrorCode('email', 'SMTP_421').en).toBe('the mail server refused for now');
  });

  it('covers every sandbox code, and names an unknown one as it is', () => {
    for (const code of Object.values(SANDBOX_CODES)) expect(explainErrorCode('sms', code).known, code).toBe(true);
    expect(explainErrorCode('sms', 'E_NEW')).toEqual({ zh: '未知错误代码 E_NEW', en: 'unknown error code E_NEW', known: false });
  });
});
