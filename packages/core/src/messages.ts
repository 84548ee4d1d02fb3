// Rendering one policy into the message each channel actually sends. Limits come from
// CHANNELS.md; every renderer stays within them itself rather than trusting the provider to cut.
import { DOMESTIC_SMS_MAX_LENGTH, domesticSmsLength, smsSegments, type SmsEncoding } from './sms-segments';

export interface MessagePolicy {
  title: string;
  summary: string;
  url: string;
  docNumber: string;
  departmentNameZh: string;
  smsSignature: string;
  publishedAt: Date;
  urgent: boolean;
  kind: 'policy' | 'update' | 'revocation';
}

// Words put before the title so an amendment or a revocation is not mistaken for a new policy.
const KIND_PREFIX: Record<MessagePolicy['kind'], string> = {
  policy: '',
  update: '政策更新：',
  revocation: '政策撤销：',
};
const KIND_PHRASE: Record<MessagePolicy['kind'], string> = {
  policy: '新政策',
  update: '政策更新',
  revocation: '政策撤销',
};

const titleWithKind = (p: MessagePolicy) => KIND_PREFIX[p.kind] + singleLine(p.title);

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

// Mainland China has had no daylight saving since 1991, so Asia/Shanghai is a fixed UTC+8
// and the formatting needs no time-zone database.
function shanghaiParts(d: Date) {
  const t = new Date(d.getTime() + 8 * 3600_000);
  const pad = (n: number) => String(n).padStart(2, '0');
  return {
    date: `${t.getUTCFullYear()}年${t.getUTCMonth() + 1}月${t.getUTCDate()}日`,
    time: `${pad(t.getUTCHours())}:${pad(t.getUTCMinutes())}`,
  };
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
  { key: 'character_string4', type: 'character_string', source: 'docNumber' },
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
  const sources = resolveSources(fields);
  const rendered: WechatRendered = { fields: {}, cut: [], url: opts.link ?? p.url };
  fields.forEach((field, i) => {
    const { value, cut } = fitField(wechatSourceValue(p, sources[i]), field.type);
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

function wechatSourceValue(p: MessagePolicy, source: WechatFieldSource): string {
  switch (source) {
    case 'title':
      return titleWithKind(p);
    case 'summary':
      return p.summary;
    case 'department':
      return p.departmentNameZh;
    case 'publishedAt':
      return p.publishedAt.toISOString();
    case 'docNumber':
      return p.docNumber;
    case 'kind':
      return KIND_PHRASE[p.kind];
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
  segmentBudget: number;
  /** Commercial-type messages must carry one; defaults to '回T退订'. */
  optOutHint?: string;
}

/**
 * 【signature】 + title + '：' + summary + link + opt-out hint, within the segment budget and the
 * domestic 500-character cap. The summary gives way first, then the title; the signature, link
 * and hint are never cut, so only they alone can exceed the budget.
 */
export function renderSms(p: MessagePolicy, opts: SmsOptions): SmsRendered {
  const head = `【${p.smsSignature}】${KIND_PREFIX[p.kind]}`;
  const tail = ` ${opts.link} ${opts.optOutHint ?? '回T退订'}`;
  const compose = (title: string, summary: string) => head + title + (summary ? `：${summary}` : '') + tail;
  const fits = (text: string) => smsSegments(text).segments <= opts.segmentBudget && codePoints(text) <= DOMESTIC_SMS_MAX_LENGTH;

  const title = singleLine(p.title);
  const summary = singleLine(p.summary);
  const summaryLen = longestFitting(codePoints(summary), (n) => fits(compose(title, shorten(summary, n))));
  let text = compose(title, shorten(summary, summaryLen));
  if (!fits(text)) {
    const titleLen = longestFitting(codePoints(title), (n) => fits(compose(shorten(title, n), '')));
    text = compose(shorten(title, titleLen), '');
  }
  const { encoding, segments } = smsSegments(text);
  const domesticLength = domesticSmsLength(p.smsSignature, text.slice(`【${p.smsSignature}】`.length));
  return { text, encoding, segments, domesticLength };
}

/** The largest n in [0, max] for which `fits(n)` holds (fits is monotone: true, then false), else 0. */
function longestFitting(max: number, fits: (n: number) => boolean): number {
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

export function renderEmail(p: MessagePolicy, opts: { link: string; unsubscribeUrl: string }): EmailRendered {
  const title = titleWithKind(p);
  const dept = singleLine(p.departmentNameZh);
  const meta = `${dept} ${p.docNumber} ${formatShanghaiDate(p.publishedAt)}`;
  // The subject is a header: a line break in it would start a new header.
  const subject = `[${dept}] ${title}`;
  const text = [title, meta, '', p.summary, '', `查看全文：${opts.link}`, '', `退订：${opts.unsubscribeUrl}`, ''].join('\n');
  const html = [
    '<!doctype html>',
    '<html lang="zh-CN"><head><meta charset="utf-8"><title>' + escapeHtml(subject) + '</title></head><body>',
    `<h1>${escapeHtml(title)}</h1>`,
    `<p>${escapeHtml(dept)} · ${escapeHtml(p.docNumber)} · ${escapeHtml(formatShanghaiDate(p.publishedAt))}</p>`,
    `<p>${escapeHtml(p.summary)}</p>`,
    `<p>${htmlLink(opts.link, '查看全文')}</p>`,
    `<hr><p style="font-size:12px;color:#666">${htmlLink(opts.unsubscribeUrl, '退订')}</p>`,
    '</body></html>',
    '',
  ].join('\n');
  return { subject, text, html };
}

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

// Escaping alone does not stop a `javascript:` URL, so only web and mail links become anchors.
function htmlLink(url: string, label: string): string {
  if (!/^(https?:|mailto:)/i.test(url.trim())) return `${escapeHtml(label)}：${escapeHtml(url)}`;
  return `<a href="${escapeHtml(url.trim())}">${escapeHtml(label)}</a>`;
}
