// The delivery log (issue 14): search by recipient, enterprise, error code, provider, status,
// channel, dates and policy; a CSV of the filter; a confirmed, audited retry of its failed ones;
// and one delivery's timeline with names, opens and the message as it was sent.
import type { Delivery, SandboxMessageRow } from '@policy-push/db';
import type { Static } from 'typebox';
import { CHANNELS } from '@policy-push/core';
import type { DeliveryDetail } from '../deliveries/deliveries-schemas';
import type { RenderedMessageView } from '../../services/rendered-messages';
import { channelLabel, csrfField, e, num, page, section, STATUS_LABELS, statusLabel, t, table, waitLabel, when } from './ops-layout';
import { sandboxMessage } from './ops-pages';
import type { OpsUser } from './ops-session';

/** The log's filters as the query string carries them (every value as typed). */
export const LOG_FILTERS = [
  'policyId',
  'status',
  'channel',
  'recipient',
  'contactIds',
  'enterprise',
  'errorCode',
  'provider',
  'from',
  'to',
] as const;
export type LogQuery = Partial<Record<(typeof LOG_FILTERS)[number], string>>;

/** Filters a retry can honour exactly (requeueFailedDeliveries): with any other, the button would do more than the list shows. */
const RETRYABLE = new Set(['policyId', 'channel', 'errorCode', 'status']);

export const logQueryString = (q: LogQuery, extra: Record<string, string> = {}) =>
  new URLSearchParams({ ...(Object.fromEntries(Object.entries(q).filter(([, v]) => v)) as Record<string, string>), ...extra }).toString();

export interface LogRow extends Delivery {
  policyTitle: string | null;
  enterpriseName: string | null;
}

export interface LogView {
  query: LogQuery;
  rows: LogRow[];
  nextCursor: string | null;
  /** The enterprises an enterprise search matched (shown so the operator sees what was searched). */
  enterprises: { id: number; name: string; creditCode: string }[];
  /** How many contacts a recipient search found. */
  recipientContacts: number | null;
}

export function retryAllowed(q: LogQuery): boolean {
  const used = Object.entries(q).filter(([, v]) => v);
  return Boolean(q.policyId) && used.every(([k]) => RETRYABLE.has(k)) && (!q.status || q.status === 'failed' || q.status === 'undelivered');
}

/** `carried`: the filter the links (older, CSV) carry: the contacts a recipient search found, not the address typed. */
export function deliveriesLogPage(v: LogView, user: OpsUser, csrf: string, carried: LogQuery = v.query): string {
  const q = v.query;
  const option = (value: string, current: string | undefined, text: string) =>
    `<option value="${e(value)}"${value === (current ?? '') ? ' selected' : ''}>${text}</option>`;
  const input = (name: keyof LogQuery, zh: string, en: string, attrs = '') =>
    `<label>${t(zh, en)}<input type="text" name="${name}" value="${e(q[name] ?? '')}"${attrs}></label>`;
  const filters = [
    '<form class="filters" method="get" action="/ops/deliveries" role="search">',
    input('recipient', '收件人', 'Recipient', ' placeholder="手机 / email / openid" autocomplete="off"'),
    input('enterprise', '企业名称或信用代码', 'Enterprise or credit code'),
    input('policyId', '政策编号', 'Policy id', ' inputmode="numeric"'),
    `<label>${t('状态', 'Status')}<select name="status">${option('', q.status, t('全部', 'any'))}${Object.keys(STATUS_LABELS)
      .map((s) => option(s, q.status, statusLabel(s)))
      .join('')}</select></label>`,
    `<label>${t('渠道', 'Channel')}<select name="channel">${option('', q.channel, t('全部', 'any'))}${CHANNELS.map((c) =>
      option(c, q.channel, channelLabel(c)),
    ).join('')}</select></label>`,
    input('errorCode', '错误码', 'Error code'),
    input('provider', '服务商', 'Provider'),
    `<label>${t('起始日期', 'From')}<input type="date" name="from" value="${e(q.from ?? '')}"></label>`,
    `<label>${t('截止日期', 'To (inclusive)')}<input type="date" name="to" value="${e(q.to ?? '')}"></label>`,
    q.contactIds && !q.recipient ? `<input type="hidden" name="contactIds" value="${e(q.contactIds)}">` : '',
    `<button type="submit">${t('搜索', 'Search')}</button>`,
    `<a href="/ops/deliveries">${t('清除', 'Clear')}</a>`,
    '</form>',
    `<p class="muted">${t(
      '收件人须完整输入（手机号、邮箱或 openid），精确匹配；结果中的地址按角色遮蔽。',
      'Type the whole address (phone, email or openid): it is matched exactly, and results stay masked by role.',
    )}</p>`,
  ].join('');

  const found: string[] = [];
  if (v.recipientContacts !== null)
    found.push(
      `<p data-recipient-contacts="${v.recipientContacts}">${t('收件人对应联系人', 'Contacts with this address')}: ${v.recipientContacts}</p>`,
    );
  if (v.enterprises.length)
    found.push(
      `<p data-enterprises="${v.enterprises.length}">${t('匹配的企业', 'Enterprises matched')}: ${v.enterprises
        .map((x) => `<a href="/ops/enterprises/${x.id}">${e(x.name)}</a> <span class="muted">${e(x.creditCode)}</span>`)
        .join(' · ')}</p>`,
    );

  const list = table(
    [
      t('编号', 'Id'),
      t('政策', 'Policy'),
      t('企业', 'Enterprise'),
      t('渠道', 'Channel'),
      t('状态', 'Status'),
      t('尝试', 'Attempts'),
      t('错误', 'Error'),
      t('创建', 'Created'),
    ],
    v.rows.map((d) => [
      `<a href="/ops/deliveries/${d.id}" data-delivery="${d.id}">${d.id}</a>`,
      d.policyId
        ? `<a href="/ops/policies/${d.policyId}">${e(d.policyTitle ?? `#${d.policyId}`)}</a> <span class="muted">v${d.policyVersion ?? ''}</span>`
        : e(d.kind),
      `<a href="/ops/enterprises/${d.enterpriseId}">${e(d.enterpriseName ?? `#${d.enterpriseId}`)}</a>`,
      channelLabel(d.channel),
      `<td data-status="${e(d.status)}">${statusLabel(d.status)}</td>`,
      `<td class="n">${d.attempts}</td>`,
      e(d.errorCode ?? '—'),
      when(d.createdAt),
    ]),
    ' data-table="deliveries"',
  );
  const more = v.nextCursor
    ? `<p><a rel="next" href="/ops/deliveries?${e(logQueryString(carried, { cursor: v.nextCursor }))}">${t('更早', 'Older')} →</a></p>`
    : '';
  const actions = [
    `<p><a href="/ops/deliveries/export?${e(logQueryString(carried))}" data-export download>${t('下载 CSV（当前筛选）', 'Download CSV of this filter')}</a></p>`,
    retryAllowed(q)
      ? [
          '<form method="post" action="/ops/deliveries/retry">',
          csrfField(csrf),
          ...['policyId', 'channel', 'errorCode', 'status']
            .filter((k) => q[k as keyof LogQuery])
            .map((k) => `<input type="hidden" name="${k}" value="${e(q[k as keyof LogQuery]!)}">`),
          `<button type="submit" class="secondary" data-retry>${t('重试此筛选中的失败投递…', 'Retry the failed ones in this filter…')}</button>`,
          '</form>',
        ].join('')
      : `<p class="muted">${t(
          '重试：请只按政策（以及渠道、错误码、失败状态）筛选。',
          'To retry, filter by a policy only (and channel, error code, failed status).',
        )}</p>`,
  ].join('');
  return page({ title: ['投递记录', 'Delivery log'], user, csrf, nav: 'deliveries' }, [
    section(['筛选', 'Filter'], filters + found.join('')),
    section(['投递', 'Deliveries'], list + more + actions),
  ]);
}

export function retryConfirmPage(
  filter: { policyId: string; channel?: string; errorCode?: string; status?: string },
  policyTitle: string,
  count: number,
  user: OpsUser,
  csrf: string,
): string {
  const hidden = Object.entries(filter)
    .filter(([, v]) => v)
    .map(([k, v]) => `<input type="hidden" name="${k}" value="${e(v!)}">`)
    .join('');
  const back = `/ops/deliveries?${logQueryString(filter)}`;
  return page({ title: ['确认重试', 'Confirm the retry'], user, csrf, nav: 'deliveries' }, [
    section(
      ['将重新排队', 'What will be re-queued'],
      [
        `<p data-retry-count="${count}">${t('政策', 'Policy')} <a href="/ops/policies/${e(filter.policyId)}">${e(policyTitle)}</a>: <strong>${num(count)}</strong> ${t('条失败投递将重新发送', 'failed deliveries will be sent again')}${filter.channel ? ` · ${channelLabel(filter.channel)}` : ''}${filter.errorCode ? ` · ${e(filter.errorCode)}` : ''}</p>`,
        `<p class="muted">${t(
          '已送达、或已在其他渠道送达的联系人不会重发；每个联系人只重发第一条。',
          'Never one that was delivered, nor one whose contact was reached on another channel; one per contact.',
        )}</p>`,
        count
          ? `<form method="post" action="/ops/deliveries/retry">${csrfField(csrf)}${hidden}<input type="hidden" name="confirm" value="yes"><button type="submit" data-confirm-retry>${t('确认重试', 'Retry them')} (${num(count)})</button></form>`
          : '',
        `<p><a href="${e(back)}">${t('返回', 'Back')}</a></p>`,
      ].join(''),
    ),
  ]);
}

export function retryDonePage(policyId: string, requeued: number, user: OpsUser, csrf: string): string {
  return page({ title: ['已重新排队', 'Re-queued'], user, csrf, nav: 'deliveries' }, [
    `<p class="notice ok" role="status" data-requeued="${requeued}">${t('已重新排队', 'Re-queued')}: <strong>${num(requeued)}</strong> · ${t('已记入审计日志', 'recorded in the audit log')}</p>`,
    `<p><a href="/ops/deliveries?${logQueryString({ policyId })}">${t('查看该政策的投递', "This policy's deliveries")}</a></p>`,
  ]);
}

// ---------------------------------------------------------------------------------------------
// One delivery

export interface DeliveryView {
  detail: Static<typeof DeliveryDetail>;
  policy: { id: number; title: string; docNumber: string } | null;
  enterprise: { id: number; name: string; creditCode: string } | null;
  /** As the role may see it: masked for all but admins. */
  contact: { id: number; name: string | null; address: string | null; erased: boolean } | null;
  message: { view: RenderedMessageView; renderedFrom: string } | null;
  /** Re-queues by a retry (the audit log's deliveries.retry rows of its policy since it was made). */
  requeues: { at: Date; count: number }[];
  /** What the sandbox recorded of it, when its channel is sandboxed. */
  sandbox: SandboxMessageRow[];
}

const ENTRY_LABELS: Record<string, [string, string]> = {
  matched: ['匹配并创建', 'Matched and created'],
  attempt: ['发送尝试', 'Attempt'],
  receipt: ['回执', 'Receipt'],
  event: ['事件', 'Event'],
  opened: ['首次打开', 'First opened'],
  last_opened: ['最近打开', 'Last opened'],
  fallback_of: ['接替', 'Took over from'],
  fallback: ['转由其他渠道', 'Fell back to'],
  merged: ['合并到', 'Merged into'],
  digested: ['并入汇总', 'Folded into digest'],
};

function entryHtml(x: Static<typeof DeliveryDetail>['timeline'][number]): string {
  const label = t(...(ENTRY_LABELS[x.type] ?? [x.type, x.type]));
  const bits: string[] = [];
  if (x.type === 'attempt')
    bits.push(
      `${x.attempt}: <strong>${e(x.outcome ?? '')}</strong>`,
      e(x.provider ?? ''),
      e(x.providerCode ?? ''),
      x.latencyMs !== undefined ? `${x.latencyMs} ms` : '',
      e(x.error ?? ''),
    );
  if (x.event) bits.push(`<strong>${e(x.event)}</strong>`);
  if (x.errorCode) bits.push(e(x.errorCode));
  if (x.deliveryId) bits.push(`<a href="/ops/deliveries/${e(x.deliveryId)}">${t('投递', 'delivery')} ${e(x.deliveryId)}</a>`);
  if (x.channel && x.type !== 'matched') bits.push(channelLabel(x.channel));
  if (x.status) bits.push(statusLabel(x.status));
  if (x.opens !== undefined) bits.push(`${t('共', 'total')} ${x.opens} ${t('次', 'opens')}`);
  return `<li data-entry="${e(x.type)}">${when(new Date(x.at))}<br>${label}${bits.filter(Boolean).length ? ': ' + bits.filter(Boolean).join(' · ') : ''}</li>`;
}

function messageHtml(m: { view: RenderedMessageView; renderedFrom: string }): string {
  const v = m.view;
  const from = `<p class="muted">${t('按发送时的版本重新渲染', 'Rendered again from the version it was sent for')} (${e(m.renderedFrom)}, ${e(v.locale)})</p>`;
  if (v.sms)
    return `<div class="msg" data-message="sms">${e(v.sms.text)}</div><p class="muted">${v.sms.segments} ${t('条（分段）', 'segment(s)')} · ${e(v.sms.encoding)}</p>${from}`;
  if (v.email)
    return `<p>${t('主题', 'Subject')}: <strong>${e(v.email.subject)}</strong></p><div class="msg" data-message="email">${e(v.email.text)}</div>${from}`;
  if (v.wechat)
    return `<dl class="facts" data-message="wechat">${Object.entries(v.wechat.data)
      .map(([k, f]) => `<dt>${e(k)}</dt><dd>${e(f.value)}</dd>`)
      .join('')}<dt>${t('链接', 'Link')}</dt><dd>${e(v.wechat.url)}</dd></dl>${from}`;
  return '';
}

export function deliveryDetailPage(v: DeliveryView, user: OpsUser, csrf: string): string {
  const d = v.detail;
  const facts: [string, string][] = [
    [
      t('政策', 'Policy'),
      v.policy
        ? `<a href="/ops/policies/${v.policy.id}">${e(v.policy.title)}</a> <span class="muted">${e(v.policy.docNumber)} · v${d.policyVersion ?? ''}</span>`
        : '—',
    ],
    [t('类型', 'Kind'), e(d.kind)],
    [t('渠道', 'Channel'), channelLabel(d.channel)],
    [t('状态', 'Status'), `<span data-status="${e(d.status)}">${statusLabel(d.status)}</span>`],
    [
      t('企业', 'Enterprise'),
      v.enterprise
        ? `<a href="/ops/enterprises/${v.enterprise.id}" data-enterprise="${v.enterprise.id}">${e(v.enterprise.name)}</a> <span class="muted">${e(v.enterprise.creditCode)}</span>`
        : `#${e(d.enterpriseId)}`,
    ],
    [
      t('联系人', 'Contact'),
      v.contact
        ? `<span data-contact="${v.contact.id}">${e(v.contact.name ?? '—')} · ${e(v.contact.address ?? '—')}</span>${v.contact.erased ? ` <span class="muted">${t('已删除个人信息', 'erased')}</span>` : ''}`
        : `#${e(d.contactId)}`,
    ],
    [t('优先级', 'Priority'), d.priority === 'urgent' ? t('紧急', 'urgent') : t('普通', 'normal')],
    [t('错误码', 'Error code'), e(d.errorCode ?? '—')],
    [
      t('等待', 'Waiting'),
      d.wait
        ? `<span data-wait="${e(d.wait.reason)}">${waitLabel(d.wait.reason as never)}</span> · ${t('预计', 'due')} ${when(new Date(d.wait.dueAt))}`
        : '—',
    ],
    [
      t('打开', 'Opens'),
      `<span data-opens="${d.engagement.opens}">${d.engagement.opens}</span>${d.engagement.firstOpenedAt ? ` · ${t('首次', 'first')} ${when(new Date(d.engagement.firstOpenedAt))}` : ''}${d.engagement.lastOpenedAt && d.engagement.opens > 1 ? ` · ${t('最近', 'last')} ${when(new Date(d.engagement.lastOpenedAt))}` : ''}`,
    ],
    [
      t('重新排队', 'Re-queued'),
      v.requeues.length ? v.requeues.map((r) => `${when(r.at)} (${t('批量', 'batch of')} ${num(r.count)})`).join('<br>') : '—',
    ],
    [t('发送时间', 'Sent at'), when(d.sentAt ? new Date(d.sentAt) : null)],
    [t('完成时间', 'Finished at'), when(d.finishedAt ? new Date(d.finishedAt) : null)],
    [t('归档', 'Archived'), d.archivedAt ? when(new Date(d.archivedAt)) : '—'],
  ];
  const why = [
    ...d.why.categories.map((c) => `${e(c.nameZh)} <span class="muted">${e(c.code)}</span>`),
    ...d.why.groups.map((g) => e(g.name)),
  ];
  return page({ title: [`投递 ${d.id}`, `Delivery ${d.id}`], user, csrf, nav: 'deliveries' }, [
    section(
      ['概况', 'Facts'],
      `<dl class="facts" data-delivery="${e(d.id)}">${facts.map(([k, val]) => `<dt>${k}</dt><dd>${val}</dd>`).join('')}</dl>`,
    ),
    section(['匹配原因', 'Why it was sent'], why.length ? `<p>${why.join(' · ')}</p>` : `<p class="muted">—</p>`),
    section(['时间线', 'Timeline'], `<ol class="timeline">${d.timeline.map(entryHtml).join('')}</ol>`, ' data-timeline'),
    v.message ? section(['发送的消息', 'The message as sent'], messageHtml(v.message), ' data-rendered-message') : '',
    v.sandbox.length ? section(['沙箱中的消息', 'As the sandbox recorded it'], v.sandbox.map(sandboxMessage).join('')) : '',
  ]);
}
