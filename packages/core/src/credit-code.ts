import { districts } from './reference/districts';

// GB 32100-2015 unified social credit code: 18 symbols from a 31-character set (no I O S V Z,
// which are too easily misread), the last one a check character over the first 17.
export const CREDIT_CODE_CHARSET = '0123456789ABCDEFGHJKLMNPQRTUWXY';
const WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

// 9 = registered by the market regulator, 1 = enterprise: what the demo's subjects are.
const GENERATED_PREFIX = '91';

/** Trim, full-width to half-width, upper case: codes are often pasted from Chinese documents. */
export function normalizeCreditCode(input: string): string {
  return toHalfWidth(input).trim().toUpperCase();
}

function toHalfWidth(s: string): string {
  return s.replace(/[\uFF01-\uFF5E\u3000]/g, (ch) => (ch === '\u3000' ? ' ' : String.fromCharCode(ch.charCodeAt(0) - 0xfee0)));
}

/** The check character for 17 leading symbols; null if the input is not 17 charset symbols. */
export function creditCodeCheckChar(first17: string): string | null {
  if (first17.length !== 17) return null;
  let sum = 0;
  for (let i = 0; i < 17; i++) {
    const value = CREDIT_CODE_CHARSET.indexOf(first17[i]);
    if (value < 0) return null;
    sum += value * WEIGHTS[i];
  }
  return CREDIT_CODE_CHARSET[(31 - (sum % 31)) % 31];
}

export function isValidCreditCode(input: string): boolean {
  const code = normalizeCreditCode(input);
  if (code.length !== 18) return false;
  return creditCodeCheckChar(code.slice(0, 17)) === code[17];
}

/** A valid code for demo data and tests; `random` returns [0, 1) like Math.random, so seed it. */
export function generateCreditCode(random: () => number): string {
  const district = districts[pickIndex(districts.length, random)].code;
  let body = '';
  for (let i = 0; i < 9; i++) body += CREDIT_CODE_CHARSET[pickIndex(CREDIT_CODE_CHARSET.length, random)];
  const first17 = GENERATED_PREFIX + district + body;
  return first17 + creditCodeCheckChar(first17);
}

function pickIndex(length: number, random: () => number): number {
  // Clamp so a source that returns exactly 1 cannot index past the end.
  return Math.min(length - 1, Math.floor(random() * length));
}
