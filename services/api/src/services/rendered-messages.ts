// A message as a channel sends it, rendered by the dispatcher's own renderer (renderOutbound), for
// those who must see it before or after it goes: the API's and the console's publish previews, and
// GET /v1/deliveries/{id}/message. One home, so a preview cannot drift from what is sent.
import { randomBytes } from 'node:crypto';
import { type Channel, CHANNELS, type DeliveryContext, type OutboundMessage, renderOutbound } from '@policy-push/channels';
import {
  addressOn,
  type Config,
  messageLinks,
  type MessageLinks,
  noticeSummaries,
  smsSegments,
  withoutLinkTokens,
} from '@policy-push/core';
import {
  type Department,
  type DeliveryToRender,
  getContact,
  getDeliveryToRender,
  getDepartment,
  getPolicy,
  likelyNextDeliveryId,
  listPolicyVersions,
  type NewPolicy,
  type Policy,
  type PolicyVersionRow,
  type previewAudience,
  type Queryable,
} from '@policy-push/db';
import { Type } from 'typebox';

/** The message one channel sends, in the API's shape: one member per channel. */
export const RenderedMessage = Type.Object({
  channel: Type.String({ description: 'wechat | sms | email' }),
  locale: Type.String({ description: 'the locale it was rendered for: zh-Hans, zh-Hant or en' }),
  sms: Type.Optional(
    Type.Object({
      text: Type.String({ description: 'the whole text, signature, links and opt-out included' }),
      segments: Type.Integer({ minimum: 1, description: 'counted on this text' }),
      encoding: Type.String({ description: 'GSM-7 or UCS-2' }),
    }),
  ),
  email: Type.Optional(Type.Object({ subject: Type.String(), text: Type.String(), html: Type.String() })),
  wechat: Type.Optional(
    Type.Object({
      templateId: Type.String(),
      url: Type.String({ description: 'the link the template message opens' }),
      data: Type.Record(Type.String(), Type.Object({ value: Type.String() })),
    }),
  ),
});

export type RenderedMessageView = {
  channel: Channel;
  locale: string;
  sms?: { text: string; segments: number; encoding: string };
  email?: { subject: string; text: string; html: string };
  wechat?: { templateId: string; url: string; data: Record<string, { value: string }> };
};

export function messageView(message: OutboundMessage, locale: string): RenderedMessageView {
  switch (message.channel) {
    case 'sms':
      return {
        channel: 'sms',
        locale,
        sms: { text: message.content.text, segments: message.content.segments, encoding: smsSegments(message.content.text).encoding },
      };
    case 'email': {
      const { subject, text, html } = message.content;
      return { channel: 'email', locale, email: { subject, text, html } };
    }
    case 'wechat': {
      const { templateId, url, data } = message.content;
      return { channel: 'wechat', locale, wechat: { templateId, url, data } };
    }
  }
}

// Preview links are signed with a key nobody holds: the shapes and lengths of the real ones (the
// SMS segment count depends on them), tokens that open nothing.
const PREVIEW_SECRET = randomBytes(32).toString('base64url');

/** The links a delivery made now would carry, with tokens that open nothing. */
export function previewLinks(publicBaseUrl: string, deliveryId: number, contactId: number, now = new Date()): MessageLinks {
  return messageLinks(publicBaseUrl, PREVIEW_SECRET, { deliveryId, contactId }, now);
}

export interface RenderedSample {
  channel: Channel;
  contactId: number;
  /** The real address, needed only to render; masked wherever it is shown. */
  to: string;
  locale: string;
  message: OutboundMessage;
}

/**
 * For each channel and each language among the sampled contacts, the message such a contact would
 * get if the policy were published now: its first version, links through /r/ as long as the real ones.
 */
export async function previewSamples(
  db: Queryable,
  config: Pick<Config, 'publicBaseUrl' | 'smsSegmentBudget'>,
  values: NewPolicy,
  audience: Awaited<ReturnType<typeof previewAudience>>,
): Promise<RenderedSample[]> {
  const department = await getDepartment(db, values.departmentId);
  if (!department) return [];
  // A delivery id of the length the next ones will have: the links' lengths depend on it.
  const deliveryId = await likelyNextDeliveryId(db);
  const samples: RenderedSample[] = [];
  // One message per channel and per language among the sampled contacts: a policy with an English
  // title reads differently to an English-speaking contact, and the preview shows that message too.
  for (const channel of CHANNELS) {
    const locales = new Set<string>();
    for (const sample of audience.sample.filter((s) => s.channel === channel)) {
      const contact = await getContact(db, sample.contactId);
      const to = contact && addressOn(contact, channel);
      if (!contact || !to || locales.has(contact.locale)) continue;
      locales.add(contact.locale);
      const ctx: DeliveryContext = {
        deliveryId: String(deliveryId),
        channel,
        to,
        locale: contact.locale,
        kind: 'policy',
        policy: {
          title: values.title,
          summary: values.summary,
          titleEn: values.titleEn ?? null,
          summaryEn: values.summaryEn ?? null,
          url: values.url,
          docNumber: values.docNumber,
          publishedAt: values.publishAt ?? new Date(),
          urgent: values.priority === 'urgent',
        },
        department: {
          nameZh: department.nameZh,
          nameEn: department.nameEn,
          smsSignature: department.smsSignature,
          wechatTemplate: department.wechatTemplate ?? null,
        },
        links: previewLinks(config.publicBaseUrl, deliveryId, contact.id),
        smsSegmentBudget: config.smsSegmentBudget,
      };
      samples.push({ channel, contactId: contact.id, to, locale: contact.locale, message: renderOutbound(ctx) });
    }
  }
  return samples;
}

// ---------------------------------------------------------------------------------------------
// A delivery's message, rendered again

export type RenderedFrom = 'version_snapshot' | 'current_policy';

export interface DeliveryMessage {
  delivery: DeliveryToRender;
  renderedFrom: RenderedFrom;
  message: OutboundMessage;
  locale: string;
}

/** What a version's message is made of: its snapshot, or for a version without one, what is known. */
function versionFacts(policy: Policy, department: Department, versions: PolicyVersionRow[], version: number) {
  const row = versions.find((v) => v.version === version);
  const before = versions.find((v) => v.version === version - 1);
  const previous = before && {
    title: before.snapshot?.title ?? before.title,
    summary: before.snapshot?.summary ?? before.summary,
    url: before.snapshot?.url ?? before.url,
    interpretationUrls: before.snapshot?.interpretationUrls ?? before.interpretationUrls,
    validUntil: before.validUntil,
  };
  const s = row?.snapshot;
  if (s) {
    return {
      renderedFrom: 'version_snapshot' as const,
      previous: previous ?? null,
      policy: { ...s, validUntil: s.validUntil ? new Date(s.validUntil) : null, publishedAt: new Date(s.publishAt) },
      department: s.department,
    };
  }
  // Recorded before snapshots: the version's own texts where they were kept, the rest (English
  // texts, document number, the department's signature and template) as they are now.
  return {
    renderedFrom: 'current_policy' as const,
    previous: previous ?? null,
    policy: {
      ...policy,
      title: row?.title ?? policy.title,
      summary: row?.summary ?? policy.summary,
      url: row?.url ?? policy.url,
      interpretationUrls: row?.interpretationUrls ?? policy.interpretationUrls,
      validUntil: row ? row.validUntil : policy.validUntil,
      publishedAt: policy.publishAt,
    },
    department: { ...department, wechatTemplate: department.wechatTemplate ?? null },
  };
}

/**
 * The message a delivery carried, rendered again by the dispatcher's renderer from the version it
 * was sent for. Its links are signed again for the same delivery, dated when it was sent: the same
 * shapes and lengths, working links (for an admin; others get them withoutTokens). Undefined when
 * there is no such delivery; null when it carries no policy message of its own (a digest, an email
 * confirmation).
 */
export async function renderDeliveryMessage(
  db: Queryable,
  config: Pick<Config, 'publicBaseUrl' | 'smsSegmentBudget'>,
  signingSecret: string,
  deliveryId: number,
): Promise<DeliveryMessage | null | undefined> {
  const d = await getDeliveryToRender(db, deliveryId);
  if (!d) return undefined;
  if (d.policyId === null || d.policyVersion === null || !(d.kind === 'policy' || d.kind === 'update' || d.kind === 'revocation'))
    return null;
  const policy = await getPolicy(db, d.policyId);
  const department = policy && (await getDepartment(db, policy.departmentId));
  if (!policy || !department) return null;
  const facts = versionFacts(policy, department, await listPolicyVersions(db, policy.id), d.policyVersion);
  const p = facts.policy;
  const locale = d.locale ?? 'zh-Hans';
  const message = renderOutbound({
    deliveryId: String(d.id),
    channel: d.channel,
    to: d.address ?? '',
    locale,
    kind: d.kind,
    policy: {
      title: p.title,
      ...noticeSummaries(d.kind, facts.previous, p),
      titleEn: p.titleEn,
      url: p.url,
      docNumber: p.docNumber,
      publishedAt: p.publishedAt,
      urgent: p.priority === 'urgent',
    },
    department: facts.department,
    links: messageLinks(config.publicBaseUrl, signingSecret, { deliveryId: d.id, contactId: d.contactId }, d.sentAt ?? d.createdAt),
    smsSegmentBudget: config.smsSegmentBudget,
  });
  return { delivery: d, renderedFrom: facts.renderedFrom, message, locale };
}

/** The view with every signed link token taken out (core links.ts withoutLinkTokens). */
export function withoutTokens(view: RenderedMessageView): RenderedMessageView {
  const w = withoutLinkTokens;
  return {
    ...view,
    ...(view.sms && { sms: { ...view.sms, text: w(view.sms.text) } }),
    ...(view.email && { email: { subject: w(view.email.subject), text: w(view.email.text), html: w(view.email.html) } }),
    ...(view.wechat && {
      wechat: {
        ...view.wechat,
        url: w(view.wechat.url),
        data: Object.fromEntries(Object.entries(view.wechat.data).map(([k, v]) => [k, { value: w(v.value) }])),
      },
    }),
  };
}
