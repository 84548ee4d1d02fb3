// One claimed delivery → the message its channel sends. The wording, the script conversion and
// the limits live in the core renderers; this only names the locale, picks the template and
// shapes the result.
import {
  defaultWechatFields,
  type MessagePolicy,
  normaliseLocale,
  renderEmail,
  renderSms,
  renderWechat,
  type WechatFieldType,
  type WechatTemplateField,
} from '@policy-push/core';
import type { Channel, OutboundMessage } from './channel';

export interface DeliveryContext {
  deliveryId: string;
  channel: Channel;
  to: string;
  /** The contact's locale: zh-Hans, zh-Hant or en; any other tag is read by normaliseLocale. */
  locale: string;
  kind: 'policy' | 'update' | 'revocation' | 'reminder';
  policy: {
    title: string;
    summary: string;
    titleEn: string | null;
    summaryEn: string | null;
    url: string;
    docNumber: string;
    publishedAt: Date;
    urgent: boolean;
  };
  department: {
    nameZh: string;
    nameEn: string;
    smsSignature: string;
    wechatTemplate: { templateId: string; fields: { key: string; type: string }[] } | null;
  };
  links: { policy: string; unsubscribe: string; preferences?: string };
  smsSegmentBudget: number;
}

export const SANDBOX_DEFAULT_TEMPLATE_ID = 'sandbox-default';

export function renderOutbound(ctx: DeliveryContext): OutboundMessage {
  const policy = messagePolicy(ctx);
  const { deliveryId, to } = ctx;
  switch (ctx.channel) {
    case 'wechat': {
      const template = ctx.department.wechatTemplate;
      const fields = template ? template.fields.map(templateField) : defaultWechatFields;
      const rendered = renderWechat(policy, fields, { link: ctx.links.policy });
      return {
        deliveryId,
        channel: 'wechat',
        to,
        content: { templateId: template?.templateId ?? SANDBOX_DEFAULT_TEMPLATE_ID, url: rendered.url, data: rendered.fields },
      };
    }
    case 'sms': {
      const { text, segments } = renderSms(policy, {
        link: ctx.links.policy,
        unsubscribeUrl: ctx.links.unsubscribe,
        segmentBudget: ctx.smsSegmentBudget,
      });
      return { deliveryId, channel: 'sms', to, content: { text, segments } };
    }
    case 'email': {
      const rendered = renderEmail(policy, {
        link: ctx.links.policy,
        unsubscribeUrl: ctx.links.unsubscribe,
        preferencesUrl: ctx.links.preferences,
      });
      return { deliveryId, channel: 'email', to, content: { ...rendered, unsubscribeUrl: ctx.links.unsubscribe } };
    }
  }
}

// Every text in every language the policy has: the core renderers choose English (only when both
// the English title and summary exist) or convert to traditional characters for zh-Hant.
function messagePolicy(ctx: DeliveryContext): MessagePolicy {
  const { policy, department } = ctx;
  return {
    title: policy.title,
    summary: policy.summary,
    titleEn: policy.titleEn,
    summaryEn: policy.summaryEn,
    url: policy.url,
    docNumber: policy.docNumber,
    departmentNameZh: department.nameZh,
    departmentNameEn: department.nameEn,
    smsSignature: department.smsSignature,
    publishedAt: policy.publishedAt,
    urgent: policy.urgent,
    kind: ctx.kind,
    locale: normaliseLocale(ctx.locale),
  };
}

const FIELD_TYPES = new Set<string>(['thing', 'character_string', 'number', 'letter', 'phrase', 'time', 'date', 'keyword']);

// A type this code does not know is held to the strictest free-text rule: 20 characters, one line.
function templateField(field: { key: string; type: string }): WechatTemplateField {
  return { key: field.key, type: FIELD_TYPES.has(field.type) ? (field.type as WechatFieldType) : 'keyword' };
}
