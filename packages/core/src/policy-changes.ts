import { formatEnglishDate, formatShanghaiDateTime } from './messages';
import type { ContactLocale } from './script';

// An amended policy's update notice says what changed, in the reader's language.
export interface PolicyFacts {
  title: string;
  summary: string;
  url: string;
  interpretationUrls: string[];
  validUntil: Date | null;
}

type Change = 'title' | 'summary' | 'validity' | 'links';

const WORDS: Record<ContactLocale, { lead: string; sep: string; end: string } & Record<Change, string>> = {
  'zh-Hans': { lead: '本次修改：', sep: '、', end: '。', title: '标题', summary: '摘要', validity: '有效期', links: '解读链接' },
  'zh-Hant': { lead: '本次修改：', sep: '、', end: '。', title: '標題', summary: '摘要', validity: '有效期', links: '解讀連結' },
  en: { lead: 'Changed: ', sep: ', ', end: '. ', title: 'title', summary: 'summary', validity: 'validity', links: 'interpretation links' },
};

export function changedFields(before: PolicyFacts, after: PolicyFacts): Change[] {
  const changes: Change[] = [];
  if (before.title !== after.title) changes.push('title');
  if (before.summary !== after.summary) changes.push('summary');
  if ((before.validUntil?.getTime() ?? null) !== (after.validUntil?.getTime() ?? null)) changes.push('validity');
  if (before.url !== after.url || before.interpretationUrls.join(' ') !== after.interpretationUrls.join(' ')) changes.push('links');
  return changes;
}

/** "本次修改：标题、有效期。" — empty when nothing a reader would notice changed. */
export function describeChanges(before: PolicyFacts, after: PolicyFacts, locale: ContactLocale): string {
  const w = WORDS[locale];
  const changes = changedFields(before, after);
  return changes.length ? `${w.lead}${changes.map((c) => w[c]).join(w.sep)}${w.end}` : '';
}

/**
 * The summaries a message of `kind` carries: an update notice leads with what changed since the
 * version before (when it is known), in Chinese and in English.
 */
export function noticeSummaries(
  kind: 'policy' | 'update' | 'revocation',
  previous: PolicyFacts | null,
  current: PolicyFacts & { summaryEn: string | null },
): { summary: string; summaryEn: string | null } {
  const changes = (locale: ContactLocale) => (kind === 'update' && previous ? describeChanges(previous, current, locale) : '');
  return {
    summary: changes('zh-Hans') + current.summary,
    summaryEn: current.summaryEn === null ? null : changes('en') + current.summaryEn,
  };
}

/**
 * A reminder's summaries (issue 15): what the policy asks and by when, before its own summary, so
 * that the deadline is the last thing an SMS cut to its segment budget loses. Written in simplified
 * Chinese (zh-Hant readers get it converted with the rest: 請於…前辦理) and in English.
 */
export function reminderSummaries(
  current: { summary: string; summaryEn: string | null },
  actionBy: Date | null,
): { summary: string; summaryEn: string | null } {
  const zh = actionBy ? `请于${formatShanghaiDateTime(actionBy)}（北京时间）前办理。` : '请及时查看并办理。';
  const en = actionBy
    ? `Please act by ${formatEnglishDate(actionBy)}, ${formatShanghaiDateTime(actionBy).slice(-5)} Beijing time. `
    : 'Please read it and act on it. ';
  return { summary: zh + current.summary, summaryEn: current.summaryEn === null ? null : en + current.summaryEn };
}
