import { describe, it, expect } from 'vitest';
import { parsePhone } from './phone';

describe('parsePhone', () => {
  it('parses a mainland mobile in national form', () => {
    expect(parsePhone('13800138000')).toEqual({ ok: true, e164: '+8613800138000' });
  });

  it('parses international form with spaces, and full-width digits', () => {
    expect(parsePhone('+86 138 0013 8000')).toEqual({ ok: true, e164: '+8613800138000' });
    expect(parsePhone('１３８００１３８０００')).toEqual({ ok: true, e164: '+8613800138000' });
  });

  it('refuses a Guangzhou landline as not a mobile', () => {
    expect(parsePhone('020 8888 8888')).toEqual({ ok: false, reason: 'not_mobile' });
  });

  it('refuses garbage, short numbers, text around a number and extensions as invalid', () => {
    for (const bad of ['', 'abc', '12345', 'call 13800138000 now', '+86 138 0013 8000 ext. 12', '1380013800']) {
      expect(parsePhone(bad), bad).toEqual({ ok: false, reason: 'invalid' });
    }
  });

  it('uses the default region only for numbers without a country code', () => {
    expect(parsePhone('07400 123456', 'GB')).toEqual({ ok: true, e164: '+447400123456' });
    expect(parsePhone('+8613800138000', 'GB')).toEqual({ ok: true, e164: '+8613800138000' });
  });

  // libphonenumber's metadata deliberately leaves Ofcom's drama range (07700 900000–900999)
  // out of the valid GB mobiles (google/libphonenumber#1768), so it cannot be demo data.
  it('treats the Ofcom drama range +44 7700 900xxx as invalid', () => {
    expect(parsePhone('+447700900123')).toEqual({ ok: false, reason: 'invalid' });
  });

  // Numbers reserved for fiction that libphonenumber does accept, so demo data can reach no one:
  // ACMA's fictitious Australian mobiles and NANP 555-01xx.
  it('accepts reserved fictional mobiles usable as demo data', () => {
    expect(parsePhone('+61 491 570 006')).toEqual({ ok: true, e164: '+61491570006' });
    expect(parsePhone('+61491570156')).toEqual({ ok: true, e164: '+61491570156' });
    expect(parsePhone('+1 202 555 0123')).toEqual({ ok: true, e164: '+12025550123' });
  });
});
