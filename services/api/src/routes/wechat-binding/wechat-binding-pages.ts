// The pages WeChat's browser shows at the end of web authorisation: Simplified Chinese first,
// English below. Self-contained (inline style, no scripts or outside resources), values escaped.
import { escapeHtml } from '@policy-push/core';

interface PageText {
  zh: { title: string; body: string };
  en: { title: string; body: string };
}

const STYLE =
  'body{font-family:system-ui,-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;padding:2rem 1rem;color:#222;background:#f6f7f9}' +
  'main{max-width:32rem;margin:0 auto;background:#fff;border-radius:8px;padding:1.5rem 2rem;box-shadow:0 1px 3px rgba(0,0,0,.1)}' +
  'h1{font-size:1.3rem}h2{font-size:1.05rem}section[lang=en]{color:#555;border-top:1px solid #ddd;margin-top:1.5rem}';

function page(text: PageText): string {
  return [
    '<!doctype html>',
    '<html lang="zh-Hans"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width,initial-scale=1">',
    '<meta name="robots" content="noindex">',
    `<title>${escapeHtml(`${text.zh.title} · ${text.en.title}`)}</title>`,
    `<style>${STYLE}</style></head><body><main>`,
    `<h1>${escapeHtml(text.zh.title)}</h1><p>${escapeHtml(text.zh.body)}</p>`,
    `<section lang="en"><h2>${escapeHtml(text.en.title)}</h2><p>${escapeHtml(text.en.body)}</p></section>`,
    '</main></body></html>',
  ].join('');
}

export const boundPage = () =>
  page({
    zh: { title: '微信绑定成功', body: '您将通过本公众号收到订阅的政策信息。可以关闭此页面。' },
    en: {
      title: 'WeChat linked',
      body: 'You will receive the policies you subscribed to through this Official Account. You may close this page.',
    },
  });

export const invalidLinkPage = () =>
  page({
    zh: { title: '链接无效或已过期', body: '请向发送链接的单位索取新的绑定链接或二维码。' },
    en: { title: 'Invalid or expired link', body: 'Please ask for a new binding link or QR code.' },
  });

export const codeRefusedPage = () =>
  page({
    zh: { title: '授权未完成', body: '微信授权码无效或已使用，请重新打开绑定链接。' },
    en: {
      title: 'Authorisation not completed',
      body: 'The WeChat authorisation code is invalid or was already used. Please open the binding link again.',
    },
  });

export const contactGonePage = () =>
  page({
    zh: { title: '联系人不存在', body: '此链接对应的联系人已被删除。' },
    en: { title: 'Contact not found', body: 'The contact this link was made for no longer exists.' },
  });

export const unavailablePage = () =>
  page({
    zh: { title: '暂时无法完成绑定', body: '微信服务暂时无法访问，请稍后重新打开绑定链接。' },
    en: { title: 'Linking is unavailable right now', body: 'WeChat could not be reached. Please open the binding link again later.' },
  });
