// Rendering one policy into the message each channel actually sends. Limits come from
// CHANNELS.md; every renderer stays within them itself rather than trusting the provider to cut.
//
// Every fixed word comes from MESSAGE_WORDS for the reader's locale. Policies are stored in
// simplified Chinese: zh-Hant readers get them converted (Hong Kong characters, script.ts) before
// anything is cut to a limit; en readers get the English title and summary only when the policy
// has both, and otherwise the whole message in simplified Chinese, never Chinese text under
// English labels.
import { shanghaiWallClock } from './shanghai-day';
import { type ContactLocale, localise } from './script';
import { DOMESTIC_SMS_MAX_LENGTH, domesticSmsLength, smsSegments, type SmsEncoding } from './sms-segments';

export type MessageKind = 'policy' | 'update' | 'revocation' | 'reminder';

export interface MessagePolicy {
  /** Simplified Chinese, as the policy is written. */
  title: string;
  summary: string;
  /** English versions; used for en readers only when both are given. */
  titleEn?: string | null;
  summaryEn?: string | null;
  url: string;
  docNumber: string;
  departmentNameZh: string;
  departmentNameEn?: string | null;
  smsSignature: string;
  publishedAt: Date;
  urgent: boolean;
  kind: MessageKind;
  /** The reader's locale (see normaliseLocale for other tags). */
  locale: ContactLocale;
}

// ---------------------------------------------------------------------------------------------
// Fixed words per locale

export interface MessageWords {
  /** Put before the title so an amendment or a revocation is not mistaken for a new policy. */
  kindPrefix: Record<MessageKind, string>;
  /** The WeChat `phrase` value for the kind. */
  kindPhrase: Record<MessageKind, string>;
  /** Between a label and its value, and between the SMS title and summary. */
  colon: string;
  /** The SMS opt-out line, given the signed unsubscribe link: in every locale it is the link. */
  smsOptOut: (unsubscribeUrl: string) => string;
  /** Email labels. */
  docNumber: string;
  readFullText: string;
  unsubscribe: string;
  /** The preferences page: subscriptions, channels, frequency, and the inbox of every policy sent. */
  preferences: string;
  htmlLang: string;
  /** The publication date in running text (WeChat time/date fields keep the platform's own format). */
  date: (d: Date) => string;
}

export const MESSAGE_WORDS: Record<ContactLocale, MessageWords> = {
  'zh-Hans': {
    kindPrefix: { policy: '', update: '政策更新：', revocation: '政策撤销：', reminder: '提醒：' },
    kindPhrase: { policy: '新政策', update: '政策更新', revocation: '政策撤销', reminder: '政策提醒' },
    colon: '：',
    // Commercial-type messages carry an opt-out (CHANNELS.md, SMS content rules). Twilio carries no
    // replies from +86 numbers, so "回T退订" would be a promise it cannot keep: the signed link is
    // the way out, in the shortest wording that says so.
    smsOptOut: (unsubscribeUrl) => `退订 ${unsubscribeUrl}`,
    docNumber: '文号',
    readFullText: '查看全文',
    unsubscribe: '退订',
    preferences: '管理订阅和查看已收政策',
    htmlLang: 'zh-CN',
    date: (d) => formatShanghaiDate(d),
  },
  // Hong Kong characters, the same terms as zh-Hans (toHant of each zh-Hans word; the test checks).
  'zh-Hant': {
    kindPrefix: { policy: '', update: '政策更新：', revocation: '政策撤銷：', reminder: '提醒：' },
    kindPhrase: { policy: '新政策', update: '政策更新', revocation: '政策撤銷', reminder: '政策提醒' },
    colon: '：',
    smsOptOut: (unsubscribeUrl) => `退訂 ${unsubscribeUrl}`,
    docNumber: '文號',
    readFullText: '查看全文',
    unsubscribe: '退訂',
    preferences: '管理訂閱和查看已收政策',
    htmlLang: 'zh-HK',
    date: (d) => formatShanghaiDate(d),
  },
  en: {
    kindPrefix: { policy: '', update: 'Policy update: ', revocation: 'Policy revoked: ', reminder: 'Reminder: ' },
    // WeChat takes only Chinese characters in a `phrase` field (at most 5; other text is refused
    // with 47003), and the template's own labels are Chinese anyway.
    kindPhrase: { policy: '新政策', update: '政策更新', revocation: '政策撤销', reminder: '政策提醒' },
    colon: ': ',
    // Twilio carries no replies from +86 numbers, so "reply … to unsubscribe" would be a promise
    // it cannot keep (CHANNELS.md, SMS content rules): the signed link is the opt-out path.
    smsOptOut: (unsubscribeUrl) => `Unsubscribe: ${unsubscribeUrl}`,
    docNumber: 'Document No.',
    readFullText: 'Read the full text',
    unsubscribe: 'Unsubscribe',
    preferences: 'Manage subscriptions and see every policy sent',
    htmlLang: 'en',
    date: (d) => formatEnglishDate(d),
  },
};

/** The text one reader gets, in one locale, with that locale's words. */
export interface MessageText {
  locale: ContactLocale;
  words: MessageWords;
  title: string;
  summary: string;
  department: string;
  docNumber: string;
  smsSignature: string;
}

export function messageText(p: MessagePolicy): MessageText {
  if (p.locale === 'en' && hasText(p.titleEn) && hasText(p.summaryEn)) {
    return {
      locale: 'en',
      words: MESSAGE_WORDS.en,
      title: p.titleEn,
      summary: p.summaryEn,
      department: hasText(p.departmentNameEn) ? p.departmentNameEn : p.departmentNameZh,
      docNumber: p.docNumber,
      // The signature is pre-approved in Chinese whatever the language of the text.
      smsSignature: p.smsSignature,
    };
  }
  const locale: ContactLocale = p.locale === 'zh-Hant' ? 'zh-Hant' : 'zh-Hans';
  return {
    locale,
    words: MESSAGE_WORDS[locale],
    title: localise(p.title, locale),
    summary: localise(p.summary, locale),
    department: localise(p.departmentNameZh, locale),
    // Shown to the reader like the title (穗发改〔2024〕17号 → 穗發改〔2024〕17號); the ASCII parts stay.
    docNumber: localise(p.docNumber, locale),
    // A domestic gateway approves the signature character for character: a traditional one must
    // be registered as well before zh-Hant messages go through such a gateway.
    smsSignature: localise(p.smsSignature, locale),
  };
}

const hasText = (s: string | null | undefined): s is string => typeof s === 'string' && s.trim() !== '';

const titleWithKind = (t: MessageText, kind: MessageKind) => t.words.kindPrefix[kind] + singleLine(t.title);

// ---------------------------------------------------------------------------------------------
// Text helpers

const LINE_BREAKS = /[\r\n\u2028\u2029\v\f\u0085]+/g;
// Emoji shown as pictures, plus the joiners, selectors, skin tones and tags that build sequences.
// Text-style symbols such as ™ or © are kept: they are not emoji unless followed by U+FE0F.
const EMOJI =
  /\p{Emoji_Presentation}|\p{Extended_Pictographic}\uFE0F|[\u200D\uFE0F\u20E3\u{E0020}-\u{E007F}]|\p{Emoji_Modifier}|\p{Regional_Indicator}/gu;

function singleLine(s: string): string {
  return s.replace(LINE_BREAKS, ' ').replace(/ {2,}/g, ' ').trim();
}

function stripEmoji(s: string): string {
  return s.replace(EMOJI, '');
}

const codePoints = (s: string) => [...s].length;

/** At most `limit` code points; a cut text ends with '…' inside the limit. */
function shorten(s: string, limit: number): string {
  const chars = [...s];
  if (chars.length <= limit) return s;
  if (limit < 2) return ''; // a lone '…' tells the reader nothing
  return (
    chars
      .slice(0, limit - 1)
      .join('')
      .trimEnd() + '…'
  );
}

function shanghaiParts(d: Date) {
  const t = shanghaiWallClock(d);
  const pad = (n: number) => String(n).padStart(2, '0');
  return {
    date: `${t.getUTCFullYear()}年${t.getUTCMonth() + 1}月${t.getUTCDate()}日`,
    time: `${pad(t.getUTCHours())}:${pad(t.getUTCMinutes())}`,
    englishDate: `${t.getUTCDate()} ${ENGLISH_MONTHS[t.getUTCMonth()]} ${t.getUTCFullYear()}`,
  };
}

const ENGLISH_MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

/** 'D Month YYYY' in Asia/Shanghai, e.g. '2 March 2020'. */
export function formatEnglishDate(d: Date): string {
  return shanghaiParts(d).englishDate;
}

/** 'YYYY年M月D日' in Asia/Shanghai. */
export function formatShanghaiDate(d: Date): string {
  return shanghaiParts(d).date;
}

/** 'YYYY年M月D日 HH:mm' in Asia/Shanghai. */
export function formatShanghaiDateTime(d: Date): string {
  const { date, time } = shanghaiParts(d);
  return `${date} ${time}`;
}

// ---------------------------------------------------------------------------------------------
// WeChat template messages

export type WechatFieldType = 'thing' | 'character_string' | 'number' | 'letter' | 'phrase' | 'time' | 'date' | 'keyword';
export type WechatFieldSource = 'title' | 'summary' | 'department' | 'publishedAt' | 'docNumber' | 'kind';

export interface WechatTemplateField {
  key: string;
  type: WechatFieldType;
  /** Which policy value fills the field; inferred from the type and position when absent. */
  source?: WechatFieldSource;
}

export interface WechatRendered {
  fields: Record<string, { value: string }>;
  /** Keys whose value was shortened, to show in the preview. */
  cut: string[];
  url: string;
}

export const defaultWechatFields: WechatTemplateField[] = [
  { key: 'thing1', type: 'thing', source: 'title' },
  { key: 'thing2', type: 'thing', source: 'department' },
  { key: 'time3', type: 'time', source: 'publishedAt' },
  // A `thing`, not a `character_string`: the latter is for digits, letters and symbols, and a
  // Chinese document number (穗府办〔2020〕12号) is neither.
  { key: 'thing4', type: 'thing', source: 'docNumber' },
];

// Code points per field type; `phrase` is meant for up to 5 Chinese characters.
const WECHAT_LIMITS: Record<Exclude<WechatFieldType, 'time' | 'date'>, number> = {
  thing: 20,
  keyword: 20,
  character_string: 32,
  number: 32,
  letter: 32,
  phrase: 5,
};

/**
 * A value as the field type allows it: no emoji or line breaks (the platform drops them),
 * cut to the type's length, or for time/date a timestamp reformatted as WeChat expects
 * (a value that is not a timestamp is returned cleaned but otherwise unchanged).
 */
export function cutToLimit(value: string, type: WechatFieldType): string {
  return fitField(value, type).value;
}

function fitField(value: string, type: WechatFieldType): { value: string; cut: boolean } {
  const clean = singleLine(stripEmoji(value));
  if (type === 'time' || type === 'date') return { value: formatTimestamp(clean, type), cut: false };
  const short = shorten(clean, WECHAT_LIMITS[type]);
  return { value: short, cut: short !== clean };
}

// Only ISO-8601 with a zone: Date would read '12' as a year, and a time without a zone in the
// process's local zone.
const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/;

function formatTimestamp(value: string, type: 'time' | 'date'): string {
  if (!ISO_TIMESTAMP.test(value)) return value;
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return value;
  return type === 'time' ? formatShanghaiDateTime(d) : formatShanghaiDate(d);
}

export function renderWechat(p: MessagePolicy, fields: WechatTemplateField[], opts: { link?: string } = {}): WechatRendered {
  const t = messageText(p);
  const sources = resolveSources(fields);
  const rendered: WechatRendered = { fields: {}, cut: [], url: opts.link ?? p.url };
  fields.forEach((field, i) => {
    const { value, cut } = fitField(wechatSourceValue(p, t, sources[i]), field.type);
    rendered.fields[field.key] = { value };
    if (cut) rendered.cut.push(field.key);
  });
  return rendered;
}

// Template designers name fields by type: the text fields, in order, are title, department, summary.
function resolveSources(fields: WechatTemplateField[]): WechatFieldSource[] {
  const textOrder: WechatFieldSource[] = ['title', 'department', 'summary'];
  let nextText = 0;
  return fields.map((f) => {
    if (f.source) return f.source;
    if (f.type === 'time' || f.type === 'date') return 'publishedAt';
    if (f.type === 'phrase') return 'kind';
    if (f.type === 'thing' || f.type === 'keyword') return textOrder[Math.min(nextText++, textOrder.length - 1)];
    return 'docNumber';
  });
}

function wechatSourceValue(p: MessagePolicy, t: MessageText, source: WechatFieldSource): string {
  switch (source) {
    case 'title':
      return titleWithKind(t, p.kind);
    case 'summary':
      return t.summary;
    case 'department':
      return t.department;
    case 'publishedAt':
      // Formatted by the field type: WeChat's time and date formats are fixed, whatever the locale.
      return p.publishedAt.toISOString();
    case 'docNumber':
      return t.docNumber;
    case 'kind':
      return t.words.kindPhrase[p.kind];
  }
}

// ---------------------------------------------------------------------------------------------
// SMS

export interface SmsRendered {
  text: string;
  encoding: SmsEncoding;
  segments: number;
  domesticLength: number;
}

export interface SmsOptions {
  link: string;
  /** The signed one-click unsubscribe link; the English opt-out line carries it. */
  unsubscribeUrl: string;
  segmentBudget: number;
  /** Commercial-type messages must carry one; defaults to the locale's ('退订 <link>', '退訂 <link>', 'Unsubscribe: <link>'). */
  optOutHint?: string;
}

/**
 * 【signature】 + title + '：' + summary + link + opt-out hint, within the segment budget and the
 * domestic 500-character cap. The summary gives way first, then the title; the signature, link
 * and hint are never cut, so only they alone can exceed the budget. Text is converted to the
 * reader's script before it is cut, so the cut is measured on what is sent.
 */
export function renderSms(p: MessagePolicy, opts: SmsOptions): SmsRendered {
  const t = messageText(p);
  const head = `【${t.smsSignature}】${t.words.kindPrefix[p.kind]}`;
  const tail = ` ${opts.link} ${opts.optOutHint ?? t.words.smsOptOut(opts.unsubscribeUrl)}`;
  // trimEnd: an English kind prefix ends in a space, which must not double up when no title fits.
  const compose = (title: string, summary: string) => (head + title + (summary ? t.words.colon + summary : '')).trimEnd() + tail;
  const fits = (text: string) => smsSegments(text).segments <= opts.segmentBudget && codePoints(text) <= DOMESTIC_SMS_MAX_LENGTH;

  const title = singleLine(t.title);
  const summary = singleLine(t.summary);
  const summaryLen = longestFitting(codePoints(summary), (n) => fits(compose(title, shorten(summary, n))));
  let text = compose(title, shorten(summary, summaryLen));
  if (!fits(text)) {
    const titleLen = longestFitting(codePoints(title), (n) => fits(compose(shorten(title, n), '')));
    text = compose(shorten(title, titleLen), '');
  }
  const { encoding, segments } = smsSegments(text);
  const domesticLength = domesticSmsLength(t.smsSignature, text.slice(`【${t.smsSignature}】`.length));
  return { text, encoding, segments, domesticLength };
}

/** The largest n in [0, max] for which `fits(n)` holds (fits is monotone: true, then false), else 0. */
function longestFitting(max: number, fits: (n: number) => boolean): number {
  // Most summaries fit whole: one test instead of a search (each test counts SMS segments).
  if (fits(max)) return max;
  let lo = 0;
  let hi = max;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (fits(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

// ---------------------------------------------------------------------------------------------
// Email

export interface EmailRendered {
  subject: string;
  text: string;
  html: string;
}

export function renderEmail(p: MessagePolicy, opts: { link: string; unsubscribeUrl: string; preferencesUrl?: string }): EmailRendered {
  const t = messageText(p);
  const w = t.words;
  const title = titleWithKind(t, p.kind);
  const dept = singleLine(t.department);
  const date = w.date(p.publishedAt);
  const docNumber = w.docNumber + w.colon + t.docNumber;
  // The subject is a header: a line break in it would start a new header.
  const subject = `[${dept}] ${title}`;
  const text = [
    title,
    `${dept} · ${docNumber} · ${date}`,
    '',
    t.summary,
    '',
    w.readFullText + w.colon + opts.link,
    '',
    ...(opts.preferencesUrl ? [w.preferences + w.colon + opts.preferencesUrl] : []),
    w.unsubscribe + w.colon + opts.unsubscribeUrl,
    '',
  ].join('\n');
  const html = [
    '<!doctype html>',
    `<html lang="${w.htmlLang}"><head><meta charset="utf-8"><title>${escapeHtml(subject)}</title></head><body>`,
    `<h1>${escapeHtml(title)}</h1>`,
    `<p>${escapeHtml(dept)} · ${escapeHtml(docNumber)} · ${escapeHtml(date)}</p>`,
    `<p>${escapeHtml(t.summary)}</p>`,
    `<p>${htmlLink(opts.link, w.readFullText, w.colon)}</p>`,
    `<hr><p style="font-size:12px;color:#666">${opts.preferencesUrl ? `${htmlLink(opts.preferencesUrl, w.preferences, w.colon)} · ` : ''}${htmlLink(opts.unsubscribeUrl, w.unsubscribe, w.colon)}</p>`,
    '</body></html>',
    '',
  ].join('\n');
  return { subject, text, html };
}

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

// Escaping alone does not stop a `javascript:` URL, so only web and mail links become anchors.
function htmlLink(url: string, label: string, colon: string): string {
  if (!/^(https?:|mailto:)/i.test(url.trim())) return `${escapeHtml(label + colon)}${escapeHtml(url)}`;
  return `<a href="${escapeHtml(url.trim())}">${escapeHtml(label)}</a>`;
}
