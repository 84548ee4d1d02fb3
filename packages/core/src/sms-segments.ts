// GSM 03.38 (3GPP TS 23.038) default alphabet, without the escape code 0x1B.
const GSM7_BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' + '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
// Extension table: each is sent as escape + char, so it costs two septets.
const GSM7_EXTENSION = '\f^{}\\[~]|€';

export const GSM7_BASIC_SET: ReadonlySet<string> = new Set(GSM7_BASIC);
export const GSM7_EXTENSION_SET: ReadonlySet<string> = new Set(GSM7_EXTENSION);

export type SmsEncoding = 'GSM-7' | 'UCS-2';

export interface SmsSegments {
  encoding: SmsEncoding;
  /** Septets for GSM-7, UTF-16 code units for UCS-2. */
  units: number;
  /** 0 for an empty text: there is nothing to send, so nothing should be counted. */
  segments: number;
  /** Capacity of one segment for this message: the single-part limit when it fits one. */
  perSegment: number;
}

const LIMITS: Record<SmsEncoding, { single: number; multi: number }> = {
  'GSM-7': { single: 160, multi: 153 },
  'UCS-2': { single: 70, multi: 67 },
};

export function smsSegments(text: string): SmsSegments {
  const encoding: SmsEncoding = isGsm7(text) ? 'GSM-7' : 'UCS-2';
  const widths = [...text].map((ch) => charUnits(ch, encoding));
  const units = widths.reduce((a, b) => a + b, 0);
  const { single, multi } = LIMITS[encoding];
  if (units === 0) return { encoding, units, segments: 0, perSegment: single };
  if (units <= single) return { encoding, units, segments: 1, perSegment: single };
  return { encoding, units, segments: packSegments(widths, multi), perSegment: multi };
}

function isGsm7(text: string): boolean {
  for (const ch of text) if (!GSM7_BASIC_SET.has(ch) && !GSM7_EXTENSION_SET.has(ch)) return false;
  return true;
}

function charUnits(ch: string, encoding: SmsEncoding): number {
  if (encoding === 'UCS-2') return ch.length; // a surrogate pair (most emoji) is two code units
  return GSM7_EXTENSION_SET.has(ch) ? 2 : 1;
}

// Phones never split an escape sequence or a surrogate pair across two parts, so a part may
// end one unit short: count by filling parts character by character, not by dividing.
function packSegments(widths: number[], capacity: number): number {
  let segments = 1;
  let used = 0;
  for (const w of widths) {
    if (used + w > capacity) {
      segments++;
      used = 0;
    }
    used += w;
  }
  return segments;
}

/** Length as mainland gateways count it: `【signature】` plus body, one per character (max 500). */
export function domesticSmsLength(signature: string, body: string): number {
  return [...`【${signature}】${body}`].length;
}

export const DOMESTIC_SMS_MAX_LENGTH = 500;
