// The pages of the open link when it cannot redirect: Simplified Chinese first, English below.
// Self-contained (inline style, no scripts, fonts or images from anywhere); nothing from the
// request is written into them.
import { escapeHtml } from '@policy-push/core';

const STYLE =
  'body{font-family:system-ui,-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;padding:2rem 1rem;color:#222;background:#f6f7f9}' +
  'main{max-width:32rem;margin:0 auto;background:#fff;border-radius:8px;padding:1.5rem 2rem;box-shadow:0 1px 3px rgba(0,0,0,.1)}' +
  'h1{font-size:1.3rem}h2{font-size:1.05rem;margin-top:1.5rem}section[lang=en]{color:#555;border-top:1px solid #ddd;margin-top:1.5rem}';

function page(zh: { title: string; body: string }, en: { title: string; body: string }): string {
  return [
    '<!doctype html>',
    '<html lang="zh-Hans"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width,initial-scale=1">',
    '<meta name="robots" content="noindex">',
    `<title>${escapeHtml(`${zh.title} · ${en.title}`)}</title>`,
    `<style>${STYLE}</style></head><body><main>`,
    `<h1>${escapeHtml(zh.title)}</h1><p>${escapeHtml(zh.body)}</p>`,
    `<section lang="en"><h2>${escapeHtml(en.title)}</h2><p>${escapeHtml(en.body)}</p></section>`,
    '</main></body></html>',
  ].join('');
}

export const invalidOpenLinkPage = () =>
  page(
    { title: '链接无效或已过期', body: '这个链接无法使用。请打开最近收到的消息中的链接，或到发布部门网站查阅政策。' },
    {
      title: 'This link is invalid or has expired',
      body: "This link cannot be used. Please open the link in a recent message, or look the policy up on the issuing department's website.",
    },
  );

export const unknownOpenLinkPage = () =>
  page(
    { title: '找不到这条消息', body: '这个链接所对应的消息或政策页面已不存在。' },
    { title: 'Message not found', body: 'The message or policy page this link belongs to no longer exists.' },
  );
