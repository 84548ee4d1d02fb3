import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';

export type ParsedPhone = { ok: true; e164: string } | { ok: false; reason: 'invalid' | 'not_mobile' };

// Some regions (US, CA…) cannot tell mobiles from landlines by number: accept both there.
const MOBILE_TYPES = new Set(['MOBILE', 'FIXED_LINE_OR_MOBILE']);

/**
 * A phone number in E.164 if it is a valid mobile. Uses libphonenumber's `max` metadata,
 * the only one that knows number types. The whole input must be the number (no extraction
 * from surrounding text) and extensions are refused: SMS cannot dial them.
 */
export function parsePhone(input: string, defaultRegion: CountryCode = 'CN'): ParsedPhone {
  const phone = parsePhoneNumberFromString(input, { defaultCountry: defaultRegion, extract: false });
  if (!phone || !phone.isValid() || phone.ext) return { ok: false, reason: 'invalid' };
  const type = phone.getType();
  if (!type || !MOBILE_TYPES.has(type)) return { ok: false, reason: 'not_mobile' };
  return { ok: true, e164: phone.number };
}
