// One policy's page (issue 14): its facts, the push's numbers, reach as the API reads it (with
// the catch-up), reach over time, breakdowns by channel, district and industry with names,
// failures in plain words, the reach gaps, the versions, and the actions the role may take.
// A same-origin script (ops-scripts.ts) keeps the numbers and the chart current; without it a
// reload does.
import { explainErrorCode } from '@policy-push/channels';
import { DELIVERY_STATUSES, type Policy, type REACH_STAGES, type ReachCounts } from '@policy-push/db';
import type { FieldProblem } from '../../errors';
import type { PresentedGap } from '../reach/reach-service';
import type { policyReachAnswer } from '../reach/reach-service';
import type { policyVersions, pushProgress } from '../policies/policies-service';
import { fieldError, formProblems, formValue, formValues, type FormValues, toLocalTime } from './ops-forms';
import {
  channelLabel,
  COLORS,
  csrfField,
  e,
  legend,
  num,
  page,
  section,
  STATUS_LABELS,
  stackedBar,
  statusLabel,
  t,
  table,
  when,
} from './ops-layout';
import { pushProgressBar } from './ops-pages';
import { percent, policyStatusLabel } from './ops-policies-pages';
import { mayGet, type OpsUser } from './ops-session';

export type ReachAnswer = Awaited<ReturnType<typeof policyReachAnswer>>;
export type Progress = Awaited<ReturnType<typeof pushProgress>>;
export type Versions = Awaited<ReturnType<typeof policyVersions>>;

/** Cumulative reached and engaged at the end of each bucket, oldest first. */
export interface TimelinePoint {
  at: Date;
  reached: number;
  engaged: number;
}

export interface PolicyView {
  policy: Policy;
  department: { nameZh: string; nameEn: string } | null;
  progress: Progress | null;
  reach: ReachAnswer | null;
  timeline: TimelinePoint[] | null;
  gaps: PresentedGap[];
  moreGaps: boolean;
  versions: Versions;
}

/** Which action form was posted, with what was typed and what the API said of it. */
export interface ActionForm {
  action: 'amend' | 'revoke' | 'cancel' | 'push';
  values: FormValues;
  problems: FieldProblem[];
  /** Revoke and cancel ask once more before they act. */
  confirming?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Reach over time: one SVG, its lines' points computed here for the page and for the live JSON.

const CHART_W = 600;
const CHART_H = 140;

export function timelinePoints(points: TimelinePoint[], targeted: number): { reached: string; engaged: string; top: number } {
  const top = Math.max(1, targeted, ...points.map((p) => p.reached));
  if (!points.length) return { reached: '', engaged: '', top };
  const t0 = points[0].at.getTime();
  const span = Math.max(1, points.at(-1)!.at.getTime() - t0);
  const line = (key: 'reached' | 'engaged') =>
    points
      .map((p) => {
        const x = points.length === 1 ? CHART_W : ((p.at.getTime() - t0) / span) * CHART_W;
        const y = CHART_H - (p[key] / top) * (CHART_H - 4);
        return `${x.toFixed(1)},${y.toFixed(1)}`;
      })
      .join(' ');
  return { reached: line('reached'), engaged: line('engaged'), top };
}

function reachChart(points: TimelinePoint[] | null, targeted: number): string {
  if (!points) return `<p class="muted">${t('到达时间线暂不可用', 'Reach over time is not available')}</p>`;
  const lines = timelinePoints(points, targeted);
  return [
    `<figure data-reach-chart data-points="${points.length}" style="margin:0">`,
    `<svg class="chart" viewBox="0 0 ${CHART_W} ${CHART_H}" preserveAspectRatio="none" role="img" aria-label="${e(`reached ${points.at(-1)?.reached ?? 0}, engaged ${points.at(-1)?.engaged ?? 0}`)}">`,
    `<line x1="0" y1="${CHART_H - 0.5}" x2="${CHART_W}" y2="${CHART_H - 0.5}" stroke="#ccc"/>`,
    `<polyline data-series="reached" fill="none" stroke="${COLORS.delivered}" stroke-width="2" vector-effect="non-scaling-stroke" points="${lines.reached}"/>`,
    `<polyline data-series="engaged" fill="none" stroke="${COLORS.sms}" stroke-width="2" vector-effect="non-scaling-stroke" points="${lines.engaged}"/>`,
    '</svg>',
    legend([
      { key: 'delivered', label: t('累计到达', 'reached, cumulative') },
      { key: 'sms', label: t('累计打开', 'engaged, cumulative') },
    ]),
    `<figcaption class="muted">${points.length ? `${when(points[0].at)} – ${when(points.at(-1)!.at)} · ` : ''}${t('纵轴上限', 'top')} <span data-chart-top>${num(lines.top)}</span></figcaption>`,
    '</figure>',
  ].join('');
}

// ---------------------------------------------------------------------------------------------
// The funnel and breakdowns

const REACH_LABELS: [(typeof REACH_STAGES)[number], string, string][] = [
  ['targeted', '目标企业', 'targeted'],
  ['addressable', '可联系', 'addressable'],
  ['withDelivery', '有投递', 'with a delivery'],
  ['sent', '已发送', 'sent'],
  ['delivered', '已送达', 'delivered'],
  ['reached', '已到达', 'reached'],
  ['engaged', '已打开', 'opened (engaged)'],
];

const UNADDRESSABLE_LABELS: [keyof ReachCounts['unaddressable'], string, string][] = [
  ['noContact', '没有联系人', 'no contact'],
  ['noAddress', '没有其渠道的地址', 'no address for its channels'],
  ['optedOut', '已退订', 'opted out'],
  ['emailUnconfirmed', '邮箱未确认', 'email unconfirmed'],
];

function reachFunnel(r: ReachAnswer): string {
  const c = r.totals;
  const rows = REACH_LABELS.map(([key, zh, en]) => [
    t(zh, en),
    `<td data-reach="${key}" class="n">${num(c[key])}</td>`,
    `<td>${stackedBar([{ key: key === 'engaged' ? 'sms' : 'delivered', value: c[key], label: en }], Math.max(c.targeted, 1))}</td>`,
  ]);
  const why = UNADDRESSABLE_LABELS.map(
    ([key, zh, en]) => `<dt>${t(zh, en)}</dt><dd data-unaddressable="${key}">${num(c.unaddressable[key])}</dd>`,
  ).join('');
  return (
    table([t('阶段', 'Stage'), t('企业', 'Enterprises'), ''], rows, ' data-table="funnel"') +
    (r.addressableKnown
      ? `<h3>${t('无法联系的原因', 'Why not addressable')}</h3><dl class="facts">${why}</dl>`
      : `<p class="muted" data-addressable-known="false">${t(
          '此政策在记录无法联系的企业之前推送：目标企业只计有投递的企业。',
          'Pushed before unaddressable enterprises were recorded: targeted counts only enterprises with a delivery.',
        )}</p>`) +
    `<p>${t('到达率', 'Reach rate')}: <strong data-reach="rate">${percent(c.reached, c.targeted)}</strong> · ${t('知晓度', 'Awareness')}: <strong data-reach="awareness">${percent(c.engaged, c.targeted)}</strong></p>` +
    followUpLine(r) +
    `<p class="muted" data-up-to-date="${r.upToDate}">${
      r.upToDate
        ? t('到达数据已是最新。', 'Reach is up to date.')
        : t('仍有变化在汇总中，数字会继续更新。', 'Changes are still being counted: the numbers will move.')
    }</p>`
  );
}

/** What the follow-up reminders did (issue 15); nothing before the first reminder went out. */
function followUpLine(r: ReachAnswer): string {
  const f = r.followUps;
  if (!f.remindersSent) return '';
  return `<p data-follow-ups>${t('提醒', 'Reminders sent')}: <strong data-follow-up="remindersSent">${num(f.remindersSent)}</strong> · ${t(
    '被提醒企业',
    'enterprises reminded',
  )}: <strong data-follow-up="reminded">${num(f.reminded)}</strong> · ${t('提醒后打开', 'engaged after a reminder')}: <strong data-follow-up="engagedAfterReminder">${num(
    f.engagedAfterReminder,
  )}</strong> (${percent(f.engagedAfterReminder, f.reminded)})</p>`;
}

/** Reached of targeted per group, as bars; `label` names the group. */
function reachBars(name: string, groups: { key: string; label: string; counts: ReachCounts }[]): string {
  return table(
    [t('分组', 'Group'), t('到达 / 目标', 'Reached / targeted'), t('到达率', 'Rate'), ''],
    groups.map((g) => [
      `<td data-label="${e(name)}">${g.label}</td>`,
      `<td class="n" data-group="${e(g.key)}">${num(g.counts.reached)} / ${num(g.counts.targeted)}</td>`,
      `<td class="n">${percent(g.counts.reached, g.counts.targeted)}</td>`,
      `<td>${stackedBar([{ key: COLORS[g.key] ? g.key : 'delivered', value: g.counts.reached, label: g.key }], Math.max(g.counts.targeted, 1))}</td>`,
    ]),
    ` data-table="${e(name)}"`,
  );
}

const named = (code: string, nameZh: string | null, nameEn: string | null) =>
  nameZh ? `${e(nameZh)} <span lang="en">${e(nameEn ?? '')}</span>` : e(code);

function breakdowns(r: ReachAnswer): string {
  const failures = table(
    [t('渠道', 'Channel'), t('错误代码', 'Error code'), t('含义', 'What it means'), `<span class="n">${t('投递', 'Deliveries')}</span>`],
    r.failures.map((f) => {
      const why = explainErrorCode(f.channel, f.errorCode);
      return [
        channelLabel(f.channel),
        `<code>${e(f.errorCode)}</code>`,
        `<td data-error-code="${e(f.errorCode)}">${t(why.zh, why.en)}</td>`,
        `<td class="n">${num(f.deliveries)}</td>`,
      ];
    }),
    ' data-table="failures"',
  );
  return [
    `<h3>${t('按渠道', 'By channel')}</h3>`,
    reachBars(
      'channel',
      r.byChannel.map((c) => ({ key: c.channel, label: channelLabel(c.channel), counts: c })),
    ),
    `<h3>${t('按区县', 'By district')}</h3>`,
    reachBars(
      'district',
      r.byDistrict.map((d) => ({ key: d.district, label: named(d.district, d.nameZh, d.nameEn), counts: d })),
    ),
    `<h3>${t('按行业门类', 'By industry section')}</h3>`,
    reachBars(
      'section',
      r.bySection.map((s) => ({ key: s.section, label: named(s.section, s.nameZh, s.nameEn), counts: s })),
    ),
    `<h3>${t('失败原因', 'Failures by error code')}</h3>`,
    failures,
  ].join('');
}

const GAP_LABELS: Record<string, [string, string]> = {
  no_contact: ['没有联系人', 'no contact'],
  no_address: ['没有其渠道的地址', 'no address for its channels'],
  opted_out: ['已退订', 'opted out'],
  email_unconfirmed: ['邮箱未确认', 'email unconfirmed'],
  held: ['等待汇总', 'held for a digest'],
  in_progress: ['发送中', 'in progress'],
  awaiting_receipt: ['等待回执', 'awaiting a receipt'],
  failed: ['发送失败', 'failed'],
  cancelled: ['已取消', 'cancelled'],
};

function gapsList(v: PolicyView): string {
  const rows = v.gaps.map((g) => [
    `<td data-label="企业 Enterprise">${e(g.enterpriseName ?? '')}<br><span class="muted">${e(g.creditCode ?? '')}</span></td>`,
    `<td data-label="区县 District">${named(g.district, g.nameZh, g.nameEn)}</td>`,
    `<td data-label="原因 Why" data-gap-reason="${e(g.reason)}">${GAP_LABELS[g.reason] ? t(...GAP_LABELS[g.reason]) : e(g.reason)}${g.failures
      .map((f) => {
        const why = explainErrorCode(f.channel, f.errorCode);
        return `<br><span class="muted">${channelLabel(f.channel)} ${e(f.errorCode)}: ${t(why.zh, why.en)}</span>`;
      })
      .join('')}</td>`,
  ]);
  return (
    table([t('企业', 'Enterprise'), t('区县', 'District'), t('原因', 'Why not reached')], rows, ' data-table="gaps" class="cards"') +
    (v.moreGaps
      ? `<p class="muted">${t('仅显示前若干家；完整清单可通过 API 导出 CSV。', 'The first few only; the API exports the whole list as CSV.')}</p>`
      : '')
  );
}

function versionsList(versions: Versions): string {
  return table(
    [t('版本', 'Version'), t('记录时间', 'Recorded'), t('标题', 'Title'), t('改动', 'What changed')],
    [...versions]
      .reverse()
      .map((v) => [
        `<td data-version="${v.version}">v${v.version}</td>`,
        when(v.recordedAt ? new Date(v.recordedAt) : null),
        e(v.policy.title),
        v.changes ? e(Object.keys(v.changes).join(', ')) || '—' : t('首个版本', 'first version'),
      ]),
    ' data-table="versions"',
  );
}

// ---------------------------------------------------------------------------------------------
// Actions: each a form posting to /ops/policies/:id/<action> with the CSRF token.

const AMEND_FIELDS: [string, string, string, string][] = [
  ['title', 'text', '标题', 'Title'],
  ['summary', 'textarea', '摘要', 'Summary'],
  ['titleEn', 'text', '英文标题', 'English title'],
  ['summaryEn', 'textarea', '英文摘要', 'English summary'],
  ['url', 'url', '政策链接', 'Policy URL'],
  ['interpretationUrls', 'urls', '解读链接', 'Interpretation links'],
  ['validUntil', 'datetime-local', '失效时间（北京时间）', 'Expires (Beijing time)'],
];

/** The amend form's values for a policy as it is now. */
export function currentValues(p: Policy): FormValues {
  return {
    title: p.title,
    summary: p.summary,
    titleEn: p.titleEn ?? '',
    summaryEn: p.summaryEn ?? '',
    url: p.url,
    interpretationUrls: p.interpretationUrls,
    validUntil: toLocalTime(p.validUntil),
    publishAt: toLocalTime(p.publishAt),
  };
}

function amendForm(v: PolicyView, posted: ActionForm | undefined, csrf: string): string {
  const p = v.policy;
  const form = posted?.action === 'amend' ? posted : undefined;
  const values = { ...currentValues(p), ...form?.values };
  const problems = form?.problems ?? [];
  const scheduled = p.status === 'scheduled';
  const fields = scheduled
    ? [...AMEND_FIELDS, ['publishAt', 'datetime-local', '发布时间（北京时间）', 'Publish at (Beijing time)'] as const]
    : AMEND_FIELDS;
  const inputs = fields.map(([name, type, zh, en]) => {
    const label = `<label for="amend-${name}">${t(zh, en)}</label>`;
    if (type === 'urls') {
      // One input per link, and a few empty ones for more (up to the API's 10).
      const urls = formValues(values, name);
      const inputs = Array.from(
        { length: Math.min(10, Math.max(3, urls.length + 1)) },
        (_, i) =>
          `<input type="url" id="amend-${name}${i ? `-${i}` : ''}" name="${name}" value="${e(urls[i] ?? '')}" placeholder="https://">`,
      );
      return label + inputs.join('') + fieldError(problems, name);
    }
    const input =
      type === 'textarea'
        ? `<textarea id="amend-${name}" name="${name}">${e(formValue(values, name))}</textarea>`
        : `<input type="${type}" id="amend-${name}" name="${name}" value="${e(formValue(values, name))}">`;
    return label + input + fieldError(problems, name);
  });
  return [
    `<form method="post" action="/ops/policies/${p.id}/amend" data-action="amend">`,
    csrfField(csrf),
    formProblems(problems, [...fields.map((f) => f[0]), 'form']),
    `<p class="muted">${
      scheduled
        ? t('待发布的政策直接修改，可改期。', 'A scheduled policy is edited in place, and may be moved.')
        : t(
            '修改会生成新版本：已收到的企业收到一条更新通知，新匹配的企业收到政策。',
            'An amendment is a new version: those reached get one update notice, newly matched enterprises get the policy.',
          )
    }</p>`,
    ...inputs,
    `<button type="submit">${scheduled ? t('保存修改', 'Save changes') : t('发布新版本', 'Publish the new version')}</button>`,
    '</form>',
  ].join('');
}

function revokeForm(v: PolicyView, posted: ActionForm | undefined, csrf: string): string {
  const form = posted?.action === 'revoke' ? posted : undefined;
  const values = form?.values ?? {};
  const problems = form?.problems ?? [];
  const confirming = form?.confirming === true;
  return [
    `<form method="post" action="/ops/policies/${v.policy.id}/revoke" data-action="revoke">`,
    csrfField(csrf),
    formProblems(problems, ['reason', 'notifyRecipients', 'confirm', 'form']),
    `<label for="revoke-reason">${t('撤回原因', 'Reason')}</label><input type="text" id="revoke-reason" name="reason" maxlength="500" value="${e(formValue(values, 'reason'))}"${confirming ? ' readonly' : ''}>`,
    fieldError(problems, 'reason'),
    // While confirming, the box shows what was chosen and a hidden field carries it.
    confirming && formValue(values, 'notifyRecipients') === 'yes' ? '<input type="hidden" name="notifyRecipients" value="yes">' : '',
    `<label><input type="checkbox"${confirming ? ' disabled' : ' name="notifyRecipients"'} value="yes"${formValue(values, 'notifyRecipients') === 'yes' ? ' checked' : ''}> ${t(
      '通知已收到的企业此政策已撤回',
      'Tell those already reached that it was revoked',
    )}</label>`,
    confirming
      ? `<div class="notice problem" data-confirm="revoke"><p>${t(
          '撤回后未发出的投递立即取消，且不能恢复。确定撤回吗？',
          'Revoking cancels every unsent delivery at once and cannot be undone. Revoke?',
        )}</p><input type="hidden" name="confirm" value="yes"></div>`
      : '',
    fieldError(problems, 'confirm'),
    `<button type="submit" class="danger">${confirming ? t('确认撤回', 'Yes, revoke') : t('撤回…', 'Revoke…')}</button>`,
    confirming ? ` <a href="/ops/policies/${v.policy.id}">${t('不撤回', 'Keep it')}</a>` : '',
    '</form>',
  ].join('');
}

function cancelForm(v: PolicyView, posted: ActionForm | undefined, csrf: string): string {
  const confirming = posted?.action === 'cancel' && posted.confirming === true;
  return [
    `<form method="post" action="/ops/policies/${v.policy.id}/cancel" data-action="cancel">`,
    csrfField(csrf),
    posted?.action === 'cancel' ? formProblems(posted.problems, ['confirm', 'form']) : '',
    confirming
      ? `<div class="notice problem" data-confirm="cancel"><p>${t('取消后此政策不会发布。确定取消吗？', 'It will not be published. Cancel it?')}</p><input type="hidden" name="confirm" value="yes"></div>`
      : '',
    `<button type="submit" class="danger">${confirming ? t('确认取消发布', 'Yes, cancel it') : t('取消发布…', 'Cancel the publish…')}</button>`,
    '</form>',
  ].join('');
}

function pushForm(v: PolicyView, posted: ActionForm | undefined, csrf: string): string {
  return [
    `<form method="post" action="/ops/policies/${v.policy.id}/push" data-action="push">`,
    csrfField(csrf),
    posted?.action === 'push' ? formProblems(posted.problems, ['form']) : '',
    `<p class="muted">${t('只发送给新匹配或尚未收到的联系人，不会重复发送。', 'Sends only to what is new or not yet sent: never a duplicate.')}</p>`,
    `<button type="submit" class="secondary">${t('再次推送', 'Push again')}</button>`,
    '</form>',
  ].join('');
}

function actions(v: PolicyView, user: OpsUser, csrf: string, posted: ActionForm | undefined): string {
  const id = v.policy.id;
  if (!mayGet(user.role, `/ops/policies/${id}/amend`)) return '';
  const status = v.policy.status;
  if (status !== 'published' && status !== 'scheduled') return '';
  const parts =
    status === 'published'
      ? [
          `<h3>${t('修改', 'Amend')}</h3>${amendForm(v, posted, csrf)}`,
          `<h3>${t('再次推送', 'Push again')}</h3>${pushForm(v, posted, csrf)}`,
          `<h3>${t('撤回', 'Revoke')}</h3>${revokeForm(v, posted, csrf)}`,
        ]
      : [
          `<h3>${t('修改或改期', 'Edit or reschedule')}</h3>${amendForm(v, posted, csrf)}`,
          `<h3>${t('取消发布', 'Cancel')}</h3>${cancelForm(v, posted, csrf)}`,
        ];
  return section(['操作', 'Actions'], parts.join(''), ' data-actions');
}

// ---------------------------------------------------------------------------------------------

// matched, then every status: the parts it is the sum of.
const FUNNEL = ['matched', ...DELIVERY_STATUSES] as const;

function pushNumbers(p: Progress | null): string {
  if (!p) return `<p class="muted">${t('尚无推送', 'No push yet')}</p>`;
  const counts = Object.fromEntries(Object.keys(STATUS_LABELS).map((k) => [k, Number((p as Record<string, unknown>)[k] ?? 0)]));
  return [
    `<div data-push-bar>${pushProgressBar(counts)}</div>`,
    legend(
      ['delivered', 'sent', 'undelivered', 'failed', 'sending', 'pending'].map((key) => ({ key, label: STATUS_LABELS[key].join(' ') })),
    ),
    `<dl class="facts" data-push="${e(p.id)}" data-done="${p.done}">`,
    `<dt>${t('推送状态', 'Push status')}</dt><dd data-field="status">${e(p.status)}</dd>`,
    ...FUNNEL.map(
      (k) =>
        `<dt>${k === 'matched' ? t('匹配', 'matched') : statusLabel(k)}</dt><dd data-field="${k}">${num(Number((p as Record<string, unknown>)[k] ?? 0))}</dd>`,
    ),
    `<dt>${t('完成', 'Done')}</dt><dd data-field="done">${p.done ? t('是', 'yes') : t('否', 'no')}</dd>`,
    '</dl>',
  ].join('');
}

export function policyPage(v: PolicyView, user: OpsUser, csrf: string, posted?: ActionForm, notice?: [string, string]): string {
  const p = v.policy;
  const facts = [
    [t('标题', 'Title'), e(p.title)],
    [t('英文标题', 'English title'), e(p.titleEn ?? '—')],
    [t('文号', 'Document number'), e(p.docNumber)],
    [t('部门', 'Department'), v.department ? `${e(v.department.nameZh)} <span lang="en">${e(v.department.nameEn)}</span>` : '—'],
    [
      t('状态', 'Status'),
      `<span data-policy-status="${e(p.status)}">${policyStatusLabel(p.status)}</span> · v${p.version} · ${e(p.priority)}${p.test ? ` · ${t('测试', 'test')}` : ''}`,
    ],
    [t('发布时间', 'Published'), when(p.publishAt)],
    [t('失效时间', 'Expires'), when(p.validUntil)],
    [t('办理截止', 'Act by'), when(p.actionBy)],
    [t('政策链接', 'Policy URL'), `<a href="${e(p.url)}" rel="noopener noreferrer">${e(p.url)}</a>`],
    [
      t('解读', 'Interpretations'),
      p.interpretationUrls.length
        ? p.interpretationUrls.map((u) => `<a href="${e(u)}" rel="noopener noreferrer">${e(u)}</a>`).join('<br>')
        : '—',
    ],
  ];
  const deliveriesLink = `/ops/deliveries?policyId=${p.id}`;
  return page(
    {
      title: ['政策', 'Policy'],
      user,
      csrf,
      nav: 'policies',
      scripts: ['/ops/assets/policy-live.js'],
    },
    [
      notice ? `<p class="notice ok" role="status" data-notice>${t(...notice)}</p>` : '',
      // What the API refused as a whole (a 409, a limit), above every form.
      posted
        ? formProblems(
            posted.problems.filter((x) => x.path === 'form'),
            [],
          )
        : '',
      section(
        ['政策', 'Policy'],
        `<dl class="facts" data-policy="${p.id}" data-live="/ops/policies/${p.id}/live">${facts.map(([k, val]) => `<dt>${k}</dt><dd>${val}</dd>`).join('')}</dl>`,
      ),
      section(['推送进度', 'Push progress'], pushNumbers(v.progress), ' data-push-section'),
      v.reach
        ? section(['到达漏斗', 'Reach funnel'], reachFunnel(v.reach), ' data-reach-funnel')
        : section(['到达漏斗', 'Reach funnel'], `<p class="muted">${t('到达数据暂不可用', 'Reach is not available')}</p>`),
      section(['到达趋势', 'Reach over time'], reachChart(v.timeline, v.reach?.totals.targeted ?? 0)),
      v.reach ? section(['分布', 'Breakdowns'], breakdowns(v.reach)) : '',
      section(['未到达的企业', 'Reach gaps'], gapsList(v), ' data-gaps'),
      section(['版本', 'Versions'], versionsList(v.versions)),
      actions(v, user, csrf, posted),
      mayGet(user.role, deliveriesLink)
        ? `<p><a href="${deliveriesLink}" data-link="deliveries">${t('查看此政策的投递记录', 'This policy’s deliveries')} →</a></p>`
        : '',
    ],
  );
}

/** What the live script reads: the numbers the page shows, and the chart's lines. */
export function liveNumbers(v: Pick<PolicyView, 'progress' | 'reach' | 'timeline'>) {
  const c = v.reach?.totals;
  const fields: Record<string, string> = {};
  if (v.progress) {
    for (const k of FUNNEL) fields[k] = num(Number((v.progress as Record<string, unknown>)[k] ?? 0));
    fields.status = v.progress.status;
  }
  const reach: Record<string, string> = {};
  if (c) {
    for (const [k] of REACH_LABELS) reach[k] = num(c[k]);
    reach.rate = percent(c.reached, c.targeted);
    reach.awareness = percent(c.engaged, c.targeted);
  }
  return {
    done: v.progress?.done ?? true,
    upToDate: v.reach?.upToDate ?? true,
    fields,
    reach,
    chart: v.timeline ? { ...timelinePoints(v.timeline, c?.targeted ?? 0), points: v.timeline.length } : null,
  };
}
