import { escapeHtml } from './messages';
import type { ContactLocale } from './script';

// The message that asks a contact to confirm an email address before it receives bulk pushes.
const WORDS: Record<ContactLocale, { subject: string; body: string; action: string; ignore: string }> = {
  'zh-Hans': {
    subject: '请确认您的邮箱地址',
    body: '为接收政策推送，请点击下面的链接确认此邮箱地址（7 天内有效）。',
    action: '确认邮箱',
    ignore: '如果这不是您的操作，请忽略本邮件。',
  },
  'zh-Hant': {
    subject: '請確認您的郵箱地址',
    body: '為接收政策推送，請點擊下面的連結確認此郵箱地址（7 天內有效）。',
    action: '確認郵箱',
    ignore: '如果這不是您的操作，請忽略本郵件。',
  },
  en: {
    subject: 'Please confirm your email address',
    body: 'To receive policy notifications, confirm this address with the link below (valid for 7 days).',
    action: 'Confirm email',
    ignore: 'If you did not ask for this, ignore this email.',
  },
};

export function renderConfirmationEmail(locale: ContactLocale, link: string): { subject: string; text: string; html: string } {
  const w = WORDS[locale];
  return {
    subject: w.subject,
    text: [w.body, '', link, '', w.ignore, ''].join('\n'),
    html: `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(w.subject)}</title></head><body><p>${escapeHtml(w.body)}</p><p><a href="${escapeHtml(link)}">${escapeHtml(w.action)}</a></p><p style="font-size:12px;color:#666">${escapeHtml(w.ignore)}</p></body></html>\n`,
  };
}
