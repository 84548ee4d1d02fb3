// The operator's pages: sign-in, the overview (alerts, live pushes, queues, throughput, provider
// health), the delivery log with one delivery's timeline, and the sandbox outbox.
import type { SandboxMessageRow } from '@policy-push/db';
import {
  ago,
  CHANNEL_LABELS,
  channelLabel,
  columnChart,
  csrfField,
  e,
  legend,
  maskAddress,
  num,
  page,
  section,
  STATUS_LABELS,
  stackedBar,
  t,
  table,
  when,
} from './ops-layout';
import { CHANNELS, SHANGHAI_TIME_ZONE } from '@policy-push/core';
import type { Dashboard, LivePushView } from './ops-service';
import type { OpsUser } from './ops-session';

export function loginPage(nonce: string, problem?: { code: string; zh: string; en: string }): string {
  return page({ title: ['登录', 'Sign in'] }, [
    problem ? `<p class="notice problem" role="alert" data-code="${e(problem.code)}">${t(problem.zh, problem.en)}</p>` : '',
    section(
      ['使用 API 密钥登录', 'Sign in with an API key'],
      [
        '<form method="post" action="/ops/login">',
        csrfField(nonce),
        `<label for="key">${t('API 密钥', 'API key')}</label>`,
        '<input type="password" id="key" name="key" autocomplete="off" required maxlength="200">',
        `<button type="submit">${t('登录', 'Sign in')}</button>`,
        '</form>',
        `<p class="muted">${t(
          '密钥只用于换取本次会话；浏览器只保存签名的会话凭证。',
          'The key is exchanged for this session only; the browser keeps a signed session token, not the key.',
        )}</p>`,
      ].join(''),
    ),
  ]);
}

const PROGRESS_PARTS = ['delivered', 'sent', 'undelivered', 'failed', 'sending', 'pending'] as const;
const label = (key: string) => (STATUS_LABELS[key] ? `${STATUS_LABELS[key][0]} ${STATUS_LABELS[key][1]}` : key);

export function pushProgressBar(counts: Record<string, number>): string {
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  return stackedBar(
    PROGRESS_PARTS.map((key) => ({ key, value: counts[key] ?? 0, label: label(key) })),
    total,
  );
}

function livePushRow(p: LivePushView): string[] {
  const total = Object.values(p.counts).reduce((a, b) => a + b, 0);
  const done = total - (p.counts.pending ?? 0) - (p.counts.sending ?? 0);
  return [
    `<a href="/ops/policies/${p.policyId}">${e(p.title)}</a><br><span class="muted">#${p.policyId} v${p.version} · ${e(p.status)}</span>`,
    `<td data-push="${p.pushId}">${pushProgressBar(p.counts)}<span class="muted">${num(done)} / ${num(total)}</span></td>`,
    `<td class="n">${num(p.pending)}</td>`,
    `<td class="n">${num(p.sending)}</td>`,
  ];
}

export function dashboardPage(d: Dashboard, user: OpsUser, csrf: string): string {
  const alerts = [
    ...d.health.stalledPushes.map(
      (s) =>
        `<li data-alert="stalled-push" data-push="${s.pushId}">${t('推送停滞', 'Push stalled')}: <a href="/ops/policies/${s.policyId}">${e(s.title)}</a> (v${s.version}, ${e(s.stage)}, ${t('等待', 'waiting')} ${num(s.waiting)}, ${t('自', 'since')} ${when(s.since)})</li>`,
    ),
    ...d.providers
      .filter((p) => p.unhealthy)
      .map(
        (p) =>
          `<li data-alert="provider-unhealthy" data-channel="${p.channel}">${t('服务商异常', 'Provider unhealthy')}: ${e(p.provider)} ${channelLabel(p.channel)} — ${p.failures}/${p.sends} ${t('失败', 'failed')} (${(p.rate * 100).toFixed(0)}% &gt; ${(d.failureThreshold * 100).toFixed(0)}%)</li>`,
      ),
  ];
  const health = alerts.length
    ? `<section class="alert" data-health="alert"><h2>${t('告警', 'Alerts')}</h2><ul>${alerts.join('')}</ul></section>`
    : `<section class="ok" data-health="ok"><h2>${t('运行正常', 'All healthy')}</h2><p class="muted">${t('无停滞推送，服务商失败率均在阈值内。', 'No stalled push; every provider within its failure threshold.')} ${when(d.health.checkedAt)}</p></section>`;

  const queues = table(
    [
      t('渠道', 'Channel'),
      t('待发送', 'Pending'),
      t('已到期', 'Due now'),
      t('最久等待', 'Oldest due'),
      t('近一小时已发', 'Sent last hour'),
    ],
    d.queues.map((q) => [
      channelLabel(q.channel),
      `<td class="n" data-queue="${q.channel}">${num(q.pending)}</td>`,
      `<td class="n">${num(q.ready)}</td>`,
      `<td class="n">${q.ready ? ago(q.oldestSeconds) : '—'}</td>`,
      `<td class="n">${num(d.sentLastHour[q.channel] ?? 0)}</td>`,
    ]),
  );
  const fmt = new Intl.DateTimeFormat('en-GB', { timeZone: SHANGHAI_TIME_ZONE, hour: '2-digit', minute: '2-digit' });
  const chart = columnChart(
    d.throughput.map((b) => ({ label: fmt.format(b.minute), values: b.values })),
    [...CHANNELS],
  );

  const providers = table(
    [
      t('渠道', 'Channel'),
      t('服务商', 'Provider'),
      t('暂停', 'Paused'),
      t('熔断器', 'Breaker'),
      t('近100次失败率', 'Failures, last 100'),
      t('错误码', 'Error codes'),
    ],
    d.providers.map((p) => [
      channelLabel(p.channel),
      `<td data-provider="${p.channel}" data-unhealthy="${p.unhealthy}">${e(p.provider)}${p.unhealthy ? ` <strong>${t('异常', 'unhealthy')}</strong>` : ''}</td>`,
      p.pause ? `${t('至', 'until')} ${when(p.pause.until)} (${e(p.pause.reason)})` : t('否', 'no'),
      p.breaker ? e(p.breaker) : `<span class="muted">${t('本进程未发送', 'no sends in this process')}</span>`,
      `<td class="n">${p.sends ? `${(p.rate * 100).toFixed(0)}% (${p.failures}/${p.sends})` : '—'}</td>`,
      Object.entries(p.codes)
        .map(([code, n]) => `${e(code)} ×${n}`)
        .join(', ') || '—',
    ]),
  );

  return page({ title: ['总览', 'Overview'], user, csrf, nav: 'dashboard', refreshSeconds: 10 }, [
    health,
    section(
      ['进行中的推送', 'Live pushes'],
      legend(PROGRESS_PARTS.map((key) => ({ key, label: label(key) }))) +
        table(
          [t('政策', 'Policy'), t('进度', 'Progress'), t('待发送', 'Pending'), t('发送中', 'Sending')],
          d.live.map(livePushRow),
          ' data-table="live"',
        ),
    ),
    section(['队列', 'Queues'], queues),
    section(
      ['近一小时每分钟发送量', 'Sent per minute, last hour'],
      chart +
        legend(CHANNELS.map((c) => ({ key: c, label: CHANNEL_LABELS[c].join(' ') }))) +
        `<p class="muted">${t('按发送时间统计最新的投递（有上限）', 'Counted by sent time over the newest deliveries (bounded)')}</p>`,
    ),
    section(['服务商状态', 'Provider health'], providers),
  ]);
}

// ---------------------------------------------------------------------------------------------
// The sandbox outbox

export function sandboxMessage(m: SandboxMessageRow): string {
  const c = (m.content ?? {}) as Record<string, unknown>;
  let body: string;
  if (m.channel === 'sms')
    body = `<div class="msg">${e(String(c.text ?? ''))}</div><p class="muted">${e(String(c.segments ?? '?'))} ${t('条（分段）', 'segment(s)')}</p>`;
  else if (m.channel === 'email')
    body = `<p><strong>${e(String(c.subject ?? ''))}</strong></p><div class="msg">${e(String(c.text ?? ''))}</div>`;
  else {
    const data = (c.data ?? {}) as Record<string, { value?: string }>;
    body = `<dl class="facts">${Object.entries(data)
      .map(([k, v]) => `<dt>${e(k)}</dt><dd>${e(String(v?.value ?? ''))}</dd>`)
      .join('')}</dl>`;
  }
  return `<article data-sandbox="${m.id}"><h3>${channelLabel(m.channel)} → ${e(maskAddress(m.recipient))} · ${e(m.outcome)} · ${when(m.createdAt)} · <a href="/ops/deliveries/${m.deliveryId}">${t('投递', 'delivery')} ${m.deliveryId}</a></h3>${body}</article>`;
}

export function outboxPage(
  channel: string | undefined,
  rows: SandboxMessageRow[],
  nextCursor: string | null,
  user: OpsUser,
  csrf: string,
): string {
  const links = ['', ...CHANNELS]
    .map(
      (c) =>
        `<a href="/ops/outbox${c ? `?channel=${c}` : ''}"${(channel ?? '') === c ? ' aria-current="page"' : ''}>${c ? channelLabel(c) : t('全部', 'all')}</a>`,
    )
    .join(' · ');
  const more = nextCursor
    ? `<p><a href="/ops/outbox?${new URLSearchParams({ ...(channel ? { channel } : {}), cursor: nextCursor })}">${t('更早', 'Older')} →</a></p>`
    : '';
  return page({ title: ['沙箱发件箱', 'Sandbox outbox'], user, csrf, nav: 'outbox' }, [
    `<p class="muted">${t('沙箱渠道不会真正发送：这里是本应发出的内容。', 'Sandboxed channels send nothing: this is what would have been sent.')}</p>`,
    `<p>${links}</p>`,
    section(
      ['消息', 'Messages'],
      rows.length ? rows.map(sandboxMessage).join('') + more : `<p class="muted">${t('暂无', 'Nothing yet')}</p>`,
    ),
  ]);
}
