// Simplified ↔ traditional Chinese for contacts who read the other script. Policies are written
// once, in simplified characters; zh-Hant readers get them converted phrase by phrase by OpenCC
// (opencc-js), never character by character: 后 is 後 or 后, 发 is 發 or 髮, and only the phrase
// around a character says which.
//
// zh-Hant readers here are mostly Hong Kong and Macao enterprises, so the target is Hong Kong
// standard characters with the mainland's terms kept (OpenCC `s2hk`: 优化 → 優化, 文件 → 文件),
// not Taiwan phrasing (`s2twp`: 最佳化, 檔案), which would change what a policy says.
//
// The `cn2t` / `t2cn` entry points carry only the dictionaries for one direction each; the
// default entry loads every dictionary.
import { Converter as simplifiedToTraditional } from 'opencc-js/cn2t';
import { Converter as traditionalToSimplified } from 'opencc-js/t2cn';

/** The languages a contact can read messages in (the `contacts.locale` column). */
export type ContactLocale = 'zh-Hans' | 'zh-Hant' | 'en';

type Convert = (text: string) => string;

// Building a converter loads its dictionaries into tries (about 150 ms for cn → hk), so each is
// built on first use and then kept for the life of the process.
let hant: Convert | undefined;
let hans: Convert | undefined;

/** Simplified → Hong Kong traditional characters, mainland terms kept (OpenCC `cn` → `hk`). */
export function toHant(text: string): string {
  hant ??= simplifiedToTraditional({ from: 'cn', to: 'hk' });
  return hant(text);
}

/** Hong Kong traditional → simplified characters (OpenCC `hk` → `cn`). */
export function toHans(text: string): string {
  hans ??= traditionalToSimplified({ from: 'hk', to: 'cn' });
  return hans(text);
}

/** Chinese text as a reader of `locale` expects its script: converted for zh-Hant, else unchanged. */
export function localise(text: string, locale: ContactLocale): string {
  return locale === 'zh-Hant' ? toHant(text) : text;
}

/**
 * One of the three supported locales for any BCP 47-ish tag: `en`, `en-GB` → en; `zh-Hant`,
 * `zh-Hant-HK`, `zh-HK`, `zh-MO`, `zh-TW` → zh-Hant; anything else (including `zh-CN` or an
 * unknown tag) → zh-Hans, the script policies are written in.
 */
export function normaliseLocale(tag: string): ContactLocale {
  if (/^en(?:[-_]|$)/i.test(tag)) return 'en';
  if (/^zh[-_](?:hant|hk|mo|tw)(?:[-_]|$)/i.test(tag)) return 'zh-Hant';
  return 'zh-Hans';
}
