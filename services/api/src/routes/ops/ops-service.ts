// What the console pages show, gathered from the same queries /metrics and the API use, so the
// numbers on a page are the API's numbers.
import { type Channel, CHANNELS, providerNames, wechatKeyType } from '@policy-push/channels';
import { type AudienceRule, type Config, policyAudience } from '@policy-push/core';
import {
  deliveryCounts,
  listChannelPauses,
  loadMatchTarget,
  type LivePush,
  livePushes,
  previewAudience,
  type Queryable,
  queueDepths,
  sentPerMinute,
} from '@policy-push/db';
import type { HealthReport } from '@policy-push/metrics';
import { randomUUID } from 'node:crypto';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import type { AppInstance } from '../../app-instance';
import type { FieldProblem } from '../../errors';
import { PolicyBody } from '../policies/policies-schemas';
import { checkPolicy, type PolicyInput } from '../policies/policies-service';
import { previewSamples, type RenderedSample as Sample } from '../../services/rendered-messages';
import { fromLocalTime } from './ops-forms';

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
  const problems: FieldProblem[] = [];
  // Issue 14: the audience rule, interpretation links, publish time and expiry.
  const rule = ruleFromForm(form);
  if (groupIds.length || rule) input.audience = { ...(groupIds.length && { groupIds }), ...(rule && { rule }) };
  const links = many(form.interpretationUrls);
  if (links.length) input.interpretationUrls = links;
  // Issue 15: the deadline, and follow-up steps as whole days (the API takes ISO 8601 durations).
  const steps: Record<string, string>[] = [];
  for (const [name, anchor] of [
    ['followUpAfter', 'afterPublish'],
    ['followUpBefore', 'beforeActionBy'],
  ] as const) {
    const days = one(form[name])
      .split(/[\s,，、]+/)
      .filter(Boolean);
    if (days.some((d) => !/^[1-9]\d{0,2}$/.test(d))) problems.push({ path: name, code: 'format' });
    else for (const d of days) steps.push({ [anchor]: `P${d}D` });
  }
  if (steps.length) input.followUp = { steps };
  for (const name of ['publishAt', 'validUntil', 'actionBy']) {
    const at = fromLocalTime(one(form[name]));
    if (at === null) problems.push({ path: name, code: 'format' });
    else if (at) input[name] = at;
  }
  if (!validatePolicyBody(input)) {
    for (const err of validatePolicyBody.errors ?? []) {
      const path = err.instancePath.replace(/^\//, '').split('/')[0] || String(err.params.missingProperty ?? 'form');
      if (!problems.some((p) => p.path === path)) problems.push({ path, code: err.keyword });
    }
  }
  return { input: input as PolicyInput, problems };
}

/** The audience rule the compose form's builder describes (AudienceRule, core/rules.ts), or undefined. */
export function ruleFromForm(form: PolicyForm): AudienceRule | undefined {
  const words = (v: unknown) => many(v).flatMap((s) => s.split(/[\s,，、]+/).filter(Boolean));
  const rule: AudienceRule = {};
  const industries = [...many(form.industries), ...words(form.divisions)];
  if (industries.length) rule.industries = { any: industries };
  if (many(form.districts).length) rule.districts = { any: many(form.districts) };
  if (many(form.sizes).length) rule.sizes = { any: many(form.sizes) };
  const tags = words(form.tags);
  if (tags.length) rule.tags = one(form.tagsMode) === 'all' ? { all: tags } : { any: tags };
  return Object.keys(rule).length ? rule : undefined;
}

export interface RenderedSample extends Sample {
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
 * dispatcher's own renderer (services/rendered-messages.ts) with links as long as the real ones.
 */
export async function composePreview(db: Queryable, config: Config, input: PolicyInput): Promise<ComposePreview> {
  const values = await checkPolicy(db, input, new Date(), config.dispatcher.reminderMaxSteps);
  const target = await loadMatchTarget(db, policyAudience(values), { requireConfirmedEmail: config.dispatcher.requireConfirmedEmail });
  const audience = await previewAudience(db, target, PREVIEW_SAMPLE);
  const rendered = (await previewSamples(db, config, values, audience)).map((sample): RenderedSample => {
    const cut: string[] = [];
    const limits: Record<string, string> = {};
    if (sample.message.channel === 'wechat') {
      for (const [key, field] of Object.entries(sample.message.content.data)) {
        limits[key] = wechatKeyType(key);
        // The renderer marks a shortened value with a closing ellipsis (core/messages.ts shorten).
        if (field.value.endsWith('…')) cut.push(key);
      }
    }
    return { ...sample, cut, limits };
  });
  return { input, audience, rendered };
}

/** The problems that are about whom a policy reaches (what the count depends on). */
const AUDIENCE_PATHS = /^(departmentId|categoryIds|audience|groupIds)/;

/**
 * The audience the compose form describes, counted as POST /v1/policies/preview counts it (the
 * same checks and matching), before the rest of the form is filled in: its text fields are not
 * needed for a count, so placeholders stand in for them; only the audience's problems are answered.
 */
export async function countAudience(db: Queryable, config: Config, form: PolicyForm) {
  const filled: PolicyForm = {
    ...form,
    // A document number no policy can have: the count must not depend on whether it is taken.
    docNumber: `count ${randomUUID()}`,
    title: one(form.title) || '-',
    summary: one(form.summary) || '-',
    url: 'https://count.invalid/',
    interpretationUrls: [],
    publishAt: '',
    validUntil: '',
    actionBy: '',
    followUpAfter: '',
    followUpBefore: '',
  };
  const { input, problems } = policyFromForm(filled);
  const mine = problems.filter((p) => AUDIENCE_PATHS.test(p.path));
  if (problems.length) return { problems: mine.length ? mine : problems };
  const values = await checkPolicy(db, input);
  const target = await loadMatchTarget(db, policyAudience(values), { requireConfirmedEmail: config.dispatcher.requireConfirmedEmail });
  const a = await previewAudience(db, target, 0);
  return {
    problems: [],
    count: { enterprises: a.enterprises, contacts: a.contacts, deliveries: a.deliveries, byChannel: a.byChannel },
    input,
  };
}
