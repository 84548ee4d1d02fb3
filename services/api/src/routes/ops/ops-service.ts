// What the console pages show, gathered from the same queries /metrics and the API use, so the
// numbers on a page are the API's numbers.
import { type Channel, CHANNELS, type OutboundMessage, renderOutbound, wechatKeyType } from '@policy-push/channels';
import { addressOn, type Config, signToken } from '@policy-push/core';
import {
  deliveryCounts,
  getContact,
  getDepartment,
  listChannelPauses,
  loadMatchTarget,
  type LivePush,
  livePushes,
  previewAudience,
  type Queryable,
  queueDepths,
  rowsOf,
  sentPerMinute,
  sql,
} from '@policy-push/db';
import { type HealthReport, providerNames } from '@policy-push/dispatcher';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import type { AppInstance } from '../../app';
import type { FieldProblem } from '../../errors';
import { PolicyBody } from '../policies/policies-schemas';
import { checkPolicy, type PolicyInput } from '../policies/policies-service';

/** The newest deliveries the throughput chart reads (sent_at has no index). */
export const THROUGHPUT_BOUND = 200_000;
const LIVE_PUSHES_SHOWN = 20;
const PREVIEW_SAMPLE = 20;

export interface LivePushView extends LivePush {
  counts: Record<string, number>;
}

export interface ProviderView {
  channel: Channel;
  provider: string;
  pause: { until: Date; reason: string } | null;
  breaker: string | null;
  sends: number;
  failures: number;
  rate: number;
  unhealthy: boolean;
  codes: Record<string, number>;
}

export interface Dashboard {
  now: Date;
  health: HealthReport;
  live: LivePushView[];
  queues: { channel: Channel; pending: number; ready: number; oldestSeconds: number }[];
  throughput: { minute: Date; values: Record<string, number> }[];
  sentLastHour: Record<string, number>;
  providers: ProviderView[];
  failureThreshold: number;
}

export async function loadDashboard(app: AppInstance, now: Date): Promise<Dashboard> {
  const { db } = app.deps.db;
  const { config } = app.deps;
  const providers = providerNames(config);
  // The same computation /metrics makes, so the page and the gauges agree.
  const health = await app.metrics.refreshFromDatabase(db, { settings: config.dispatcher, providers, now });
  const pushes = await livePushes(db, now, LIVE_PUSHES_SHOWN);
  const live: LivePushView[] = [];
  for (const p of pushes) live.push({ ...p, counts: await deliveryCounts(db, p.policyId, p.version) });
  const depths = await queueDepths(db, now);
  const perMinute = await sentPerMinute(db, { now, bound: THROUGHPUT_BOUND });
  const pauses = await listChannelPauses(db);
  const breakers = app.metrics.breakerStates();

  const start = Math.floor(now.getTime() / 60_000) * 60_000 - 59 * 60_000;
  const throughput = Array.from({ length: 60 }, (_, i) => ({ minute: new Date(start + i * 60_000), values: {} as Record<string, number> }));
  const sentLastHour: Record<string, number> = { wechat: 0, sms: 0, email: 0 };
  for (const r of perMinute) {
    const slot = throughput[Math.round((r.minute.getTime() - start) / 60_000)];
    if (slot) slot.values[r.channel] = (slot.values[r.channel] ?? 0) + r.n;
    sentLastHour[r.channel] = (sentLastHour[r.channel] ?? 0) + r.n;
  }

  return {
    now,
    health,
    live,
    queues: CHANNELS.map((channel) => {
      const q = depths.find((d) => d.channel === channel);
      return {
        channel,
        pending: q?.pending ?? 0,
        ready: q?.ready ?? 0,
        oldestSeconds: q?.oldestReadyAt ? Math.max(0, (now.getTime() - q.oldestReadyAt.getTime()) / 1000) : 0,
      };
    }),
    throughput,
    sentLastHour,
    providers: CHANNELS.map((channel) => {
      const pause = pauses.find((p) => p.channel === channel && p.pausedUntil > now);
      const h = health.providers.find((x) => x.channel === channel);
      return {
        channel,
        provider: providers[channel],
        pause: pause ? { until: pause.pausedUntil, reason: pause.reason } : null,
        breaker: breakers.get(channel)?.state ?? null,
        sends: h?.sends ?? 0,
        failures: h?.failures ?? 0,
        rate: h?.rate ?? 0,
        unhealthy: h?.unhealthy ?? false,
        codes: h?.codes ?? {},
      };
    }),
    failureThreshold: config.dispatcher.providerFailureRate,
  };
}

// ---------------------------------------------------------------------------------------------
// Compose: the form's fields, checked against the API's own PolicyBody schema.

/** The compose form as posted (application/x-www-form-urlencoded: repeated keys become arrays). */
export type PolicyForm = Record<string, string | string[] | undefined>;

// String() because a JSON body could carry anything where a form carries text.
const one = (v: unknown) => String((Array.isArray(v) ? v[0] : v) ?? '').trim();
const many = (v: unknown) =>
  (Array.isArray(v) ? v : v === undefined || v === null || v === '' ? [] : [v]).map((s) => String(s).trim()).filter(Boolean);

const validatePolicyBody = addFormats.default(new Ajv({ allErrors: true, strict: false })).compile(PolicyBody);

/** The API body the form describes, or the fields that are wrong (paths as the API names them). */
export function policyFromForm(form: PolicyForm): { input: PolicyInput; problems: FieldProblem[] } {
  const optional = (name: string) => one(form[name]) || undefined;
  const groupIds = many(form.groupIds);
  const input: Record<string, unknown> = {
    departmentId: one(form.departmentId),
    docNumber: one(form.docNumber),
    title: one(form.title),
    summary: one(form.summary),
    url: one(form.url),
    categoryIds: many(form.categoryIds),
    priority: one(form.priority) || 'normal',
  };
  if (optional('titleEn')) input.titleEn = optional('titleEn');
  if (optional('summaryEn')) input.summaryEn = optional('summaryEn');
  if (groupIds.length) input.audience = { groupIds };
  const problems: FieldProblem[] = [];
  if (!validatePolicyBody(input)) {
    for (const err of validatePolicyBody.errors ?? []) {
      const path = err.instancePath.replace(/^\//, '').split('/')[0] || String(err.params.missingProperty ?? 'form');
      if (!problems.some((p) => p.path === path)) problems.push({ path, code: err.keyword });
    }
  }
  return { input: input as PolicyInput, problems };
}

export interface RenderedSample {
  channel: Channel;
  /** Masked when shown; the real address is needed only to render. */
  to: string;
  locale: string;
  message: OutboundMessage;
  /** WeChat fields that were shortened to their type's limit. */
  cut: string[];
  limits: Record<string, string>;
}

export interface ComposePreview {
  input: PolicyInput;
  audience: Awaited<ReturnType<typeof previewAudience>>;
  rendered: RenderedSample[];
}

/**
 * What publishing would do, writing nothing: the audience preview the API's /policies/preview
 * answers, and for each channel the message its first sample contact would get, rendered by the
 * dispatcher's own renderer (renderOutbound) with links as long as the real ones.
 */
export async function composePreview(db: Queryable, config: Config, secret: string, input: PolicyInput): Promise<ComposePreview> {
  const values = await checkPolicy(db, input);
  const target = await loadMatchTarget(
    db,
    {
      departmentId: values.departmentId,
      categoryIds: values.categoryIds ?? [],
      targetGroupIds: values.targetGroupIds ?? [],
      audienceRule: values.audienceRule ?? null,
      priority: values.priority ?? 'normal',
    },
    { requireConfirmedEmail: config.dispatcher.requireConfirmedEmail },
  );
  const audience = await previewAudience(db, target, PREVIEW_SAMPLE);
  const department = await getDepartment(db, values.departmentId);
  const rendered: RenderedSample[] = [];
  if (!department) return { input, audience, rendered };

  // A delivery id of the length the next ones will have, for links of the real length: the SMS
  // segment count depends on them. The tokens are signed for another purpose, so they open nothing.
  const [{ next }] = rowsOf<{ next: string }>(await db.execute(sql`select coalesce(max(id), 0) + 1000 as next from deliveries`));
  const expires = new Date(Date.now() + 400 * 86_400_000);
  const link = (path: string) => `${config.publicBaseUrl}/${path}/${signToken(secret, 'ops-preview', String(next), expires)}`;

  for (const channel of CHANNELS) {
    const sample = audience.sample.find((s) => s.channel === channel);
    const contact = sample && (await getContact(db, sample.contactId));
    const to = contact && addressOn(contact, channel);
    if (!contact || !to) continue;
    const message = renderOutbound({
      deliveryId: String(next),
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
      links: { policy: values.url, unsubscribe: link('u'), preferences: link('p') },
      smsSegmentBudget: config.smsSegmentBudget,
    });
    const cut: string[] = [];
    const limits: Record<string, string> = {};
    if (message.channel === 'wechat') {
      for (const [key, field] of Object.entries(message.content.data)) {
        const type = wechatKeyType(key);
        limits[key] = type;
        // The renderer marks a shortened value with a closing ellipsis (core/messages.ts shorten).
        if (field.value.endsWith('…')) cut.push(key);
      }
    }
    rendered.push({ channel, to, locale: contact.locale, message, cut, limits });
  }
  return { input, audience, rendered };
}
