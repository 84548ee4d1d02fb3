// The checks a real provider makes before it accepts a message, so that a message the sandbox
// accepts would also pass the real API (CHANNELS.md). Returns the first problem, or null.
import { cutToLimit, smsSegments, type WechatFieldType } from '@policy-push/core';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import type { Channel, EmailContent, OutboundMessage, SmsContent, WechatContent } from '../channel';

export const SMS_MAX_CHARS = 1600;

export function validateMessage(channel: Channel, message: OutboundMessage): string | null {
  if (message.channel !== channel) return `a ${message.channel} message sent through the ${channel} adapter`;
  switch (message.channel) {
    case 'wechat':
      return validateWechat(message.to, message.content);
    case 'sms':
      return validateSms(message.to, message.content);
    case 'email':
      return validateEmail(message.to, message.content);
  }
}

// ---------------------------------------------------------------------------------------------
// WeChat: the key names the field type (thing2, time3, character_string4…).

const LENGTH_TYPES = new Set<WechatFieldType>(['thing', 'keyword', 'character_string', 'number', 'letter', 'phrase']);
// time: 24-hour time, optionally with a date; date: a date, optionally with a time; either may
// be a range joined by '~'. Forms as the WeChat template documentation gives them.
const DATE = String.raw`\d{4}年\d{1,2}月\d{1,2}日|\d{4}-\d{1,2}-\d{1,2}`;
const TIME = String.raw`\d{1,2}:\d{2}(?::\d{2})?`;
const TIME_POINT = `(?:(?:${DATE}) ?)?(?:${TIME})`;
const DATE_POINT = `(?:${DATE})(?: ?(?:${TIME}))?`;
const TIME_VALUE = new RegExp(`^${TIME_POINT}(?: ?~ ?${TIME_POINT})?$`);
const DATE_VALUE = new RegExp(`^${DATE_POINT}(?: ?~ ?${DATE_POINT})?$`);

/** The field type a template key names; unknown kinds are held to the old keyword rule (≤ 20, one line). */
export function wechatKeyType(key: string): WechatFieldType {
  const name = /^([a-z_]+?)\d*$/.exec(key)?.[1] as WechatFieldType | undefined;
  if (name && (LENGTH_TYPES.has(name) || name === 'time' || name === 'date')) return name;
  return 'keyword';
}

function validateWechat(to: string, c: WechatContent): string | null {
  if (!to.trim()) return 'to: an openid is required';
  if (!c.templateId?.trim()) return 'templateId is required';
  if (c.url && !isWebUrl(c.url)) return 'url must be an http(s) URL';
  const entries = Object.entries(c.data ?? {});
  if (entries.length === 0) return 'data: a template needs at least one field';
  for (const [key, field] of entries) {
    if (typeof field?.value !== 'string') return `data.${key}.value must be a string`;
    const type = wechatKeyType(key);
    if (type === 'time' && !TIME_VALUE.test(field.value)) return `data.${key}: not a WeChat time value`;
    if (type === 'date' && !DATE_VALUE.test(field.value)) return `data.${key}: not a WeChat date value`;
    // A value the renderer would leave as it is is within the type's limits (length, one line, no emoji).
    if (LENGTH_TYPES.has(type) && cutToLimit(field.value, type) !== field.value) {
      return `data.${key}: exceeds the limits of a ${type} field`;
    }
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// SMS, as Twilio checks it.

function validateSms(to: string, c: SmsContent): string | null {
  // E.164 and a possible number; not "valid": the sandbox range (+44 7700 900…) is unassigned on purpose.
  const phone = parsePhoneNumberFromString(to, { extract: false });
  if (!phone || phone.number !== to || !phone.isPossible()) return 'to: not an E.164 phone number';
  if (typeof c.text !== 'string' || c.text.trim() === '') return 'text is empty';
  if ([...c.text].length > SMS_MAX_CHARS) return `text is longer than ${SMS_MAX_CHARS} characters`;
  const { segments } = smsSegments(c.text);
  if (c.segments !== segments) return `segments: ${c.segments} given, the text takes ${segments}`;
  return null;
}

// ---------------------------------------------------------------------------------------------
// Email, as an SMTP server and nodemailer would take it.

function validateEmail(to: string, c: EmailContent): string | null {
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(to)) return 'to: not an email address';
  if (!c.subject?.trim()) return 'subject is required';
  if (/[\r\n]/.test(c.subject)) return 'subject must be one line';
  if (!c.text?.trim()) return 'text part is required';
  if (!c.html?.trim()) return 'html part is required';
  if (!c.unsubscribeUrl || !isWebUrl(c.unsubscribeUrl)) return 'unsubscribeUrl must be an http(s) URL (List-Unsubscribe)';
  return null;
}

function isWebUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return u.protocol === 'https:' || u.protocol === 'http:';
  } catch {
    return false;
  }
}
