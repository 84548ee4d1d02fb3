// The small server-rendered pages of the one-click unsubscribe link: Simplified Chinese first,
// English below. Self-contained (inline style, no scripts, fonts or images from anywhere), and
// every value put into them is HTML-escaped.
import { escapeHtml, type Channel } from '@policy-push/core';

const CHANNEL_NAMES: Record<Channel, { zh: string; en: string }> = {
  email: { zh: '电子邮件', en: 'email' },
  sms: { zh: '短信', en: 'text message (SMS)' },
  wechat: { zh: '微信', en: 'WeChat' },
};

/** What a page says, in both languages; `form` adds the one-click confirmation button. */
interface PageText {
  zh: { title: string; body: string };
  en: { title: string; body: string };
  form?: boolean;
}

const STYLE =
  'body{font-family:system-ui,-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;padding:2rem 1rem;color:#222;background:#f6f7f9}' +
  'main{max-width:32rem;margin:0 auto;background:#fff;border-radius:8px;padding:1.5rem 2rem;box-shadow:0 1px 3px rgba(0,0,0,.1)}' +
  'h1{font-size:1.3rem}h2{font-size:1.05rem;margin-top:1.5rem}section[lang=en]{color:#555;border-top:1px solid #ddd;margin-top:1.5rem}' +
  'button{font-size:1rem;padding:.6rem 1.4rem;border:0;border-radius:6px;background:#c0392b;color:#fff;cursor:pointer}';

function page(text: PageText): string {
  // No action attribute: the form posts back to this very URL, so the token is not written into
  // the page a second time, and a proxy's path prefix is kept.
  const form = text.form
    ? '<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">' +
      '<button type="submit">确认退订 · Unsubscribe</button></form>'
    : '';
  return [
    '<!doctype html>',
    '<html lang="zh-Hans"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width,initial-scale=1">',
    '<meta name="robots" content="noindex">',
    `<title>${escapeHtml(`${text.zh.title} · ${text.en.title}`)}</title>`,
    `<style>${STYLE}</style></head><body><main>`,
    `<h1>${escapeHtml(text.zh.title)}</h1><p>${escapeHtml(text.zh.body)}</p>`,
    form,
    `<section lang="en"><h2>${escapeHtml(text.en.title)}</h2><p>${escapeHtml(text.en.body)}</p></section>`,
    '</main></body></html>',
  ].join('');
}

export function confirmPage(channel: Channel): string {
  const name = CHANNEL_NAMES[channel];
  return page({
    zh: { title: '退订政策推送', body: `确认后，您将不再通过${name.zh}收到政策推送。其他渠道不受影响。` },
    en: {
      title: 'Unsubscribe from policy notifications',
      body: `Once you confirm, you will no longer receive policy notifications by ${name.en}. Other channels are not affected.`,
    },
    form: true,
  });
}

export function unsubscribedPage(channel: Channel): string {
  const name = CHANNEL_NAMES[channel];
  return page({
    zh: { title: '您已退订', body: `您将不再通过${name.zh}收到政策推送。如需恢复，请联系您所在企业的管理员或发布部门。` },
    en: {
      title: 'You are unsubscribed',
      body: `You will no longer receive policy notifications by ${name.en}. To receive them again, ask your enterprise's administrator or the issuing department.`,
    },
  });
}

export function invalidLinkPage(): string {
  return page({
    zh: { title: '链接无效或已过期', body: '这个退订链接无法使用。请使用最近收到的消息中的退订链接。' },
    en: {
      title: 'This link is invalid or has expired',
      body: 'This unsubscribe link cannot be used. Please use the link in a recent message.',
    },
  });
}

export function unknownMessagePage(): string {
  return page({
    zh: { title: '找不到这条消息', body: '这个退订链接所对应的消息已不存在。' },
    en: { title: 'Message not found', body: 'The message this unsubscribe link belongs to no longer exists.' },
  });
}
