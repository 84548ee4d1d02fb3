// The contact's preferences page and its small companions, rendered on the server: Simplified
// Chinese first with English beneath, plain HTML with a little inline CSS, no script, no fonts or
// images from anywhere, readable at phone width. Every value put into a page goes through
// escapeHtml; only http(s) URLs become links (escaping does not stop a `javascript:` URL).
import { CHANNELS, type Channel } from '@policy-push/channels';
import { escapeHtml, type ReachabilityRule, whyUnreachable, shanghaiDate } from '@policy-push/core';
import type { EnterpriseSubscription, InboxItem, InboxOutcome, NamedItem, PreferencesContact } from '@policy-push/db';

/** zh and en of one phrase: the page shows the Chinese, with the English beneath or beside it. */
type Both = { zh: string; en: string };

export const CHANNEL_NAMES: Record<Channel, Both> = {
  wechat: { zh: '微信', en: 'WeChat' },
  sms: { zh: '短信', en: 'SMS' },
  email: { zh: '电子邮件', en: 'email' },
};

const CONSENT_SOURCES: Record<string, Both> = {
  'agency-entered': { zh: '由政府部门录入', en: 'entered by a government department' },
  imported: { zh: '从名单批量导入', en: 'imported from a list' },
  'self-service': { zh: '由您本人提交', en: 'given by you' },
};

const FREQUENCIES: Record<EnterpriseSubscription['frequency'], Both> = {
  immediate: { zh: '即时推送', en: 'as soon as published' },
  daily: { zh: '每日汇总', en: 'daily digest' },
  weekly: { zh: '每周汇总', en: 'weekly digest' },
};

const OUTCOMES: Record<InboxOutcome, Both> = {
  delivered: { zh: '已送达', en: 'delivered' },
  sent: { zh: '已发送', en: 'sent' },
  digested: { zh: '已在汇总中发送', en: 'sent in a digest' },
  'not-delivered': { zh: '未送达', en: 'not delivered' },
  'late-match': { zh: '订阅后补充', en: 'added after you subscribed' },
};

const POLICY_STATES: Record<string, Both> = {
  revoked: { zh: '已撤回', en: 'revoked' },
  expired: { zh: '已失效', en: 'expired' },
};

/** A line at the top of the page: what was just done, or why it was not. */
export interface Notice {
  kind: 'done' | 'problem';
  /** For problems, a stable code (also in the page, as data-code). */
  code?: string;
  text: Both;
}

export interface PreferencesView {
  contact: PreferencesContact;
  subscriptions: EnterpriseSubscription[];
  categories: NamedItem[];
  departments: NamedItem[];
  inbox: InboxItem[];
  /** The deployment's reachability rule: whether an unconfirmed email is sent to. */
  reachability: ReachabilityRule;
}

const e = escapeHtml;
const both = (t: Both) => `${e(t.zh)} <span lang="en">${e(t.en)}</span>`;
const heading = (level: 1 | 2, t: Both) => `<h${level}>${e(t.zh)}<small lang="en">${e(t.en)}</small></h${level}>`;

export { shanghaiDate }; // for its tests, which were written here

/** 138****8000: enough to recognise one's own number, not enough to read someone else's. */
export function maskPhone(e164: string): string {
  const national = e164.startsWith('+86') ? e164.slice(3) : e164;
  if (national.length < 8) return '*'.repeat(national.length);
  return `${national.slice(0, 3)}****${national.slice(-4)}`;
}

/** l***@example.com: the first letter and the domain, which the enterprise knows anyway. */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  if (at < 1) return '***';
  return `${email[0]}***${email.slice(at)}`;
}

const STYLE = [
  'body{font-family:system-ui,-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;padding:1rem .75rem;color:#222;background:#f6f7f9;line-height:1.5}',
  'main{max-width:40rem;margin:0 auto}',
  'section,.notice{background:#fff;border-radius:8px;padding:1rem 1.25rem;margin:0 0 1rem;box-shadow:0 1px 3px rgba(0,0,0,.1)}',
  'h1{font-size:1.3rem;margin:.5rem 0 1rem}h2{font-size:1.1rem;margin:0 0 .75rem}h3{font-size:1rem;margin:0 0 .5rem}',
  'h1 small,h2 small{display:block;font-size:.8rem;font-weight:normal;color:#666}',
  '[lang=en]{color:#666;font-size:.9em}p{margin:.4rem 0}dl{margin:0}dt{font-weight:bold;margin-top:.5rem}dd{margin:0;word-break:break-all}',
  'fieldset{border:1px solid #ddd;border-radius:6px;margin:.75rem 0;padding:.5rem .75rem}legend{font-weight:bold}',
  'label{display:block;padding:.2rem 0}.d1{margin-left:1.25rem}.d2{margin-left:2.5rem}.d3{margin-left:3.75rem}',
  'select{font-size:1rem;max-width:100%}button{font-size:1rem;padding:.5rem 1.2rem;border:0;border-radius:6px;background:#1f6feb;color:#fff;margin-top:.5rem}',
  'button.danger{background:#c0392b}.subscription{border-top:1px solid #eee;padding-top:.75rem;margin-top:.75rem}.inactive{color:#999}',
  '.done{border-left:4px solid #2e7d32}.problem{border-left:4px solid #c0392b}ol.inbox{list-style:none;padding:0;margin:0}',
  'ol.inbox li{border-top:1px solid #eee;padding:.5rem 0}ol.inbox li:first-child{border-top:0}.meta{color:#666;font-size:.9em}',
  'form.open{display:inline}form.open button{background:none;border:0;padding:0;color:#0645ad;text-decoration:underline;font:inherit;cursor:pointer;text-align:left}',
  'li.unread form.open button{font-weight:bold}.unread{color:#c0392b}',
].join('');

function page(title: Both, body: string[]): string {
  return [
    '<!doctype html>',
    '<html lang="zh-Hans"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width,initial-scale=1">',
    '<meta name="robots" content="noindex">',
    `<title>${e(`${title.zh} · ${title.en}`)}</title>`,
    `<style>${STYLE}</style></head><body><main>`,
    heading(1, title),
    ...body,
    '</main></body></html>',
  ].join('\n');
}

function notice(n: Notice | undefined): string {
  if (!n) return '';
  const role = n.kind === 'problem' ? ` role="alert" data-code="${e(n.code ?? 'invalid')}"` : ' role="status"';
  return `<p class="notice ${n.kind}"${role}>${both(n.text)}</p>`;
}

/** The page itself. Forms have no action attribute: they post back to the URL the page came from, so the token is not written into the page again. */
export function preferencesPage(view: PreferencesView, n?: Notice): string {
  return page({ zh: '政策推送设置', en: 'Policy notification preferences' }, [
    notice(n),
    contactSection(view.contact),
    channelsSection(view.contact, view.reachability),
    subscriptionsSection(view),
    inboxSection(view.inbox),
  ]);
}

function contactSection(c: PreferencesContact): string {
  const consent = CONSENT_SOURCES[c.consentSource] ?? { zh: c.consentSource, en: c.consentSource };
  const rows: [Both, string][] = [[{ zh: '企业', en: 'Enterprise' }, e(c.enterpriseName)]];
  if (c.phone) rows.push([{ zh: '手机', en: 'Mobile' }, e(maskPhone(c.phone))]);
  if (c.email) {
    const confirmed = c.emailConfirmedAt
      ? both({ zh: `已于 ${shanghaiDate(c.emailConfirmedAt)} 确认`, en: `confirmed on ${shanghaiDate(c.emailConfirmedAt)}` })
      : both({ zh: '尚未确认', en: 'not confirmed yet' });
    rows.push([{ zh: '电子邮件', en: 'Email' }, `${e(maskEmail(c.email))} · ${confirmed}`]);
  }
  rows.push([{ zh: '微信', en: 'WeChat' }, both(c.wechatOpenid ? { zh: '已绑定', en: 'linked' } : { zh: '未绑定', en: 'not linked' })]);
  rows.push([
    { zh: '同意接收', en: 'Consent' },
    both({ zh: `${consent.zh}，${shanghaiDate(c.consentAt)}`, en: `${consent.en}, ${shanghaiDate(c.consentAt)}` }),
  ]);
  return [
    '<section>',
    heading(2, { zh: '联系人', en: 'Contact' }),
    '<dl>',
    ...rows.map(([label, value]) => `<dt>${both(label)}</dt><dd>${value}</dd>`),
    '</dl>',
    '</section>',
  ].join('\n');
}

const NOT_RECEIVING: Record<'no_address' | 'opted_out' | 'email_unconfirmed', Both> = {
  no_address: { zh: '没有地址，不会发送', en: 'no address, nothing is sent' },
  opted_out: { zh: '已停止发送', en: 'nothing is sent' },
  email_unconfirmed: { zh: '地址确认前不会发送', en: 'nothing is sent until the address is confirmed' },
};

function channelsSection(c: PreferencesContact, rule: ReachabilityRule): string {
  const lines = CHANNELS.map((ch) => {
    const name = both(CHANNEL_NAMES[ch]);
    if (c.optedOut.includes(ch)) {
      return (
        `<form method="post"><p>${name}：${both({ zh: '已退订', en: 'unsubscribed' })}</p>` +
        `<input type="hidden" name="action" value="resubscribe-channel"><input type="hidden" name="channel" value="${ch}">` +
        `<button type="submit">${both({ zh: '恢复接收', en: 'Receive again' })}</button></form>`
      );
    }
    // The same rule the fan-out applies: the page never says "receiving" where nothing would be sent.
    const why = whyUnreachable(c, ch, rule);
    const state = why ? NOT_RECEIVING[why] : { zh: '接收中', en: 'receiving' };
    return `<p>${name}：${both(state)}</p>`;
  });
  const everything = CHANNELS.every((ch) => c.optedOut.includes(ch));
  const unsubscribeAll = everything
    ? `<p>${both({ zh: '您已退订全部渠道。', en: 'You are unsubscribed from every channel.' })}</p>`
    : [
        '<form method="post"><input type="hidden" name="action" value="unsubscribe-all">',
        `<p>${both({
          zh: '退订全部：您本人将不再通过微信、短信或电子邮件收到任何政策推送。企业的订阅保持不变，企业的其他联系人照常接收。',
          en: "Unsubscribe from everything: you will no longer get any policy notification by WeChat, SMS or email. Your enterprise's subscriptions stay as they are, and its other contacts still receive them.",
        })}</p>`,
        `<button type="submit" class="danger">${both({ zh: '退订全部', en: 'Unsubscribe from everything' })}</button></form>`,
      ].join('\n');
  // Follow-up reminders (issue 15): sent before a policy's deadline while the enterprise has not opened it.
  const reminders = [
    '<form method="post"><input type="hidden" name="action" value="set-reminders">',
    `<input type="hidden" name="reminders" value="${c.remindersOff ? 'on' : 'off'}">`,
    `<p>${both(
      c.remindersOff
        ? { zh: '截止日期前的提醒：已关闭', en: 'Reminders before deadlines: off' }
        : {
            zh: '截止日期前的提醒：开启（企业尚未查看需办理的政策时提醒）',
            en: 'Reminders before deadlines: on (when your enterprise has not opened a policy that asks for action)',
          },
    )}</p>`,
    `<button type="submit">${both(c.remindersOff ? { zh: '开启提醒', en: 'Turn reminders on' } : { zh: '关闭提醒', en: 'Turn reminders off' })}</button></form>`,
  ].join('\n');
  return ['<section>', heading(2, { zh: '您的接收渠道', en: 'Your channels' }), ...lines, reminders, unsubscribeAll, '</section>'].join(
    '\n',
  );
}

/** The catalogue as a tree: each category followed by its sub-categories, indented. */
function categoryTree(categories: NamedItem[]): { item: NamedItem; depth: number }[] {
  const known = new Set(categories.map((c) => c.id));
  const children = new Map<number | null, NamedItem[]>();
  for (const c of categories) {
    const parent = c.parentId !== null && known.has(c.parentId) ? c.parentId : null;
    children.set(parent, [...(children.get(parent) ?? []), c]);
  }
  const out: { item: NamedItem; depth: number }[] = [];
  const walk = (parent: number | null, depth: number) => {
    for (const item of children.get(parent) ?? []) {
      out.push({ item, depth });
      walk(item.id, depth + 1);
    }
  };
  walk(null, 0);
  return out;
}

function subscriptionForm(
  s: EnterpriseSubscription,
  index: number,
  view: PreferencesView,
  tree: { item: NamedItem; depth: number }[],
): string {
  const chosen = new Set(s.categoryIds);
  const checkboxes = tree.map(({ item, depth }) => {
    const checked = chosen.has(item.id) ? ' checked' : '';
    return `<label class="d${Math.min(depth, 3)}"><input type="checkbox" name="categoryId" value="${item.id}"${checked}> ${both({ zh: item.nameZh, en: item.nameEn })}</label>`;
  });
  const departments = view.departments.filter((d) => s.departmentIds.includes(d.id));
  const departmentLine = departments.length
    ? `<p>${both({ zh: '以及这些部门发布的全部政策（在此不可更改）：', en: 'and every policy of these departments (not changeable here):' })} ` +
      departments.map((d) => both({ zh: d.nameZh, en: d.nameEn })).join('、') +
      '</p>'
    : '';
  const ordinals: Both[] = [
    { zh: '首选', en: '1st' },
    { zh: '其次', en: '2nd' },
    { zh: '再次', en: '3rd' },
  ];
  const selects = ordinals.map((ordinal, i) => {
    const options = [`<option value="">—</option>`].concat(
      CHANNELS.map(
        (ch) =>
          `<option value="${ch}"${s.channels[i] === ch ? ' selected' : ''}>${e(CHANNEL_NAMES[ch].zh)} ${e(CHANNEL_NAMES[ch].en)}</option>`,
      ),
    );
    return `<label>${both(ordinal)} <select name="channel">${options.join('')}</select></label>`;
  });
  const frequency = (Object.keys(FREQUENCIES) as EnterpriseSubscription['frequency'][]).map(
    (f) => `<option value="${f}"${s.frequency === f ? ' selected' : ''}>${e(FREQUENCIES[f].zh)} ${e(FREQUENCIES[f].en)}</option>`,
  );
  const paused = s.active ? '' : ` <span class="inactive">${both({ zh: '（已停用）', en: '(paused)' })}</span>`;
  return [
    `<form method="post" class="subscription${s.active ? '' : ' inactive'}">`,
    `<h3>${both({ zh: `订阅 ${index + 1}`, en: `Subscription ${index + 1}` })}${paused}</h3>`,
    '<input type="hidden" name="action" value="update-subscription">',
    `<input type="hidden" name="subscriptionId" value="${s.id}">`,
    `<fieldset><legend>${both({ zh: '政策类别', en: 'Categories' })}</legend>`,
    `<p class="meta">${both({ zh: '选择上级类别即包含其下级类别。', en: 'A category covers its sub-categories.' })}</p>`,
    ...checkboxes,
    departmentLine,
    '</fieldset>',
    `<fieldset><legend>${both({ zh: '渠道顺序', en: 'Channel order' })}</legend>`,
    `<p class="meta">${both({
      zh: '按顺序尝试，首个可用的渠道发送，其余为备用；全部留空则按每位联系人自己的顺序。',
      en: "Tried in this order: the first usable one sends, the others are fallbacks. Leave all empty to use each contact's own order.",
    })}</p>`,
    ...selects,
    '</fieldset>',
    `<label>${both({ zh: '推送频率', en: 'Frequency' })} <select name="frequency">${frequency.join('')}</select></label>`,
    `<button type="submit">${both({ zh: '保存', en: 'Save' })}</button>`,
    '</form>',
  ].join('\n');
}

function subscriptionsSection(view: PreferencesView): string {
  const tree = categoryTree(view.categories);
  const body = view.subscriptions.length
    ? view.subscriptions.map((s, i) => subscriptionForm(s, i, view, tree))
    : [`<p>${both({ zh: '您的企业还没有订阅。', en: 'Your enterprise has no subscriptions yet.' })}</p>`];
  return [
    '<section>',
    heading(2, { zh: '企业的订阅', en: "Your enterprise's subscriptions" }),
    `<p class="meta">${both({
      zh: '订阅属于企业：在此所做的更改适用于企业的所有联系人。',
      en: 'Subscriptions belong to the enterprise: changes here apply to all of its contacts.',
    })}</p>`,
    ...body,
    '</section>',
  ].join('\n');
}

const isWebUrl = (url: string) => /^https?:\/\//i.test(url.trim());

function inboxSection(inbox: InboxItem[]): string {
  const items = inbox.map((item) => {
    // Opening it here posts back (marking it read, which counts as engagement) and is then
    // redirected to the policy's page: only web URLs are offered.
    const title = isWebUrl(item.url)
      ? `<form method="post" class="open"><input type="hidden" name="action" value="read-policy">` +
        `<input type="hidden" name="policyId" value="${e(String(item.policyId))}"><button type="submit">${e(item.title)}</button></form>`
      : e(item.title);
    const read = item.read
      ? `<span class="read">${both({ zh: '已读', en: 'read' })}</span>`
      : `<span class="unread">${both({ zh: '未读', en: 'unread' })}</span>`;
    const state = POLICY_STATES[item.policyStatus];
    const status = both(OUTCOMES[item.outcome]) + (state ? ` · ${both(state)}` : '');
    return (
      `<li class="${item.read ? 'read' : 'unread'}"><p>${title}</p>` +
      `<p class="meta">${read} · ${e(shanghaiDate(item.lastAt))} · ${both({ zh: item.departmentNameZh, en: item.departmentNameEn })} · ${status}</p></li>`
    );
  });
  return [
    '<section>',
    heading(2, { zh: '收件箱', en: 'Inbox' }),
    `<p class="meta">${both({
      zh: '最近发送给您企业的政策（最多 50 条），包括未能送达的。',
      en: 'The latest policies sent to your enterprise (up to 50), including those that did not arrive.',
    })}</p>`,
    items.length ? `<ol class="inbox">\n${items.join('\n')}\n</ol>` : `<p>${both({ zh: '暂无。', en: 'Nothing yet.' })}</p>`,
    '</section>',
  ].join('\n');
}

/** A small page with one message: invalid links, a contact that is gone, an email confirmation. */
export function messagePage(title: Both, body: Both, n?: Notice): string {
  return page(title, [notice(n), `<section><p>${e(body.zh)}</p><p lang="en">${e(body.en)}</p></section>`]);
}

export const invalidLinkPage = () =>
  messagePage(
    { zh: '链接无效或已过期', en: 'This link is invalid or has expired' },
    {
      zh: '这个链接无法使用。请使用最近收到的消息中的链接。',
      en: 'This link cannot be used. Please use the link in a recent message.',
    },
  );

export const contactGonePage = () =>
  messagePage(
    { zh: '找不到联系人', en: 'Contact not found' },
    { zh: '这个链接所对应的联系人已不存在。', en: 'The contact this link belongs to no longer exists.' },
  );

export const emailConfirmedPage = (at: Date, justNow: boolean) =>
  messagePage(
    { zh: '电子邮件地址已确认', en: 'Email address confirmed' },
    justNow
      ? { zh: '谢谢，您的电子邮件地址已确认。', en: 'Thank you: your email address is confirmed.' }
      : {
          zh: `您的电子邮件地址已于 ${shanghaiDate(at)} 确认，无需再次确认。`,
          en: `Your email address was confirmed on ${shanghaiDate(at)}; there is nothing more to do.`,
        },
  );
