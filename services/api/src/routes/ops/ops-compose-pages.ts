// The publisher's pages: compose a policy, preview its audience and each channel's message,
// publish, then watch the push's numbers fill.
import { smsSegments } from '@policy-push/core';
import { DELIVERY_STATUSES, REACH_STAGES, type ReachBreakdown, type ReachCounts } from '@policy-push/db';
import type { FieldProblem } from '../../errors';
import {
  channelLabel,
  COLORS,
  stackedBar,
  csrfField,
  e,
  legend,
  maskAddress,
  num,
  page,
  section,
  STATUS_LABELS,
  statusLabel,
  t,
  table,
  when,
} from './ops-layout';
import { pushProgressBar } from './ops-pages';
import type { ComposePreview, PolicyForm, RenderedSample } from './ops-service';
import type { OpsUser } from './ops-session';

export interface ComposeChoices {
  departments: { id: number; nameZh: string; nameEn: string }[];
  categories: { id: number; code: string; nameZh: string; nameEn: string }[];
  groups: { id: number; name: string }[];
}

const FIELD_LABELS: Record<string, [string, string]> = {
  departmentId: ['发布部门', 'Department'],
  docNumber: ['文号', 'Document number'],
  title: ['标题', 'Title'],
  summary: ['摘要', 'Summary'],
  titleEn: ['英文标题', 'English title'],
  summaryEn: ['英文摘要', 'English summary'],
  url: ['政策链接', 'Policy URL'],
  categoryIds: ['政策分类', 'Categories'],
  groupIds: ['服务对象群组', 'Target groups'],
  audience: ['服务对象群组', 'Target groups'],
  priority: ['优先级', 'Priority'],
};

const values = (form: PolicyForm, name: string) => {
  const v = form[name];
  return Array.isArray(v) ? v : v ? [v] : [];
};
const value = (form: PolicyForm, name: string) => values(form, name)[0] ?? '';

function problemsList(problems: FieldProblem[]): string {
  if (!problems.length) return '';
  return `<div class="notice problem" role="alert" data-code="${e(problems[0].code)}"><p>${t('请修改以下内容', 'Please correct these')}:</p><ul>${problems
    .map((p) => {
      const field = p.path.split('.')[0];
      const name = FIELD_LABELS[field] ? t(...FIELD_LABELS[field]) : e(p.path);
      return `<li data-field="${e(p.path)}">${name}: ${e(p.code)}</li>`;
    })
    .join('')}</ul></div>`;
}

export function composePage(form: PolicyForm, choices: ComposeChoices, problems: FieldProblem[], user: OpsUser, csrf: string): string {
  const text = (name: string, type = 'text', extra = '') =>
    `<label for="${name}">${t(...FIELD_LABELS[name])}</label><input type="${type}" id="${name}" name="${name}" value="${e(value(form, name))}"${extra}>`;
  const area = (name: string, extra = '') =>
    `<label for="${name}">${t(...FIELD_LABELS[name])}</label><textarea id="${name}" name="${name}"${extra}>${e(value(form, name))}</textarea>`;
  const checked = (name: string, id: number) => (values(form, name).includes(String(id)) ? ' checked' : '');
  const body = [
    '<form method="post" action="/ops/compose/preview">',
    csrfField(csrf),
    `<label for="departmentId">${t(...FIELD_LABELS.departmentId)}</label><select id="departmentId" name="departmentId" required>`,
    ...choices.departments.map(
      (d) =>
        `<option value="${d.id}"${value(form, 'departmentId') === String(d.id) ? ' selected' : ''}>${e(d.nameZh)} · ${e(d.nameEn)}</option>`,
    ),
    '</select>',
    text('docNumber', 'text', ' required maxlength="100"'),
    text('title', 'text', ' required maxlength="200"'),
    area('summary', ' required maxlength="2000"'),
    text('titleEn', 'text', ' maxlength="300"'),
    area('summaryEn', ' maxlength="3000"'),
    text('url', 'url', ' required placeholder="https://"'),
    `<fieldset><legend>${t(...FIELD_LABELS.categoryIds)}</legend>`,
    ...choices.categories.map(
      (c) =>
        `<label><input type="checkbox" name="categoryIds" value="${c.id}"${checked('categoryIds', c.id)}> ${e(c.nameZh)} <span lang="en">${e(c.nameEn)}</span></label>`,
    ),
    '</fieldset>',
    choices.groups.length
      ? `<fieldset><legend>${t(...FIELD_LABELS.groupIds)} <span class="muted">${t('（不选则面向全部订阅者）', '(none: every subscriber)')}</span></legend>${choices.groups
          .map((g) => `<label><input type="checkbox" name="groupIds" value="${g.id}"${checked('groupIds', g.id)}> ${e(g.name)}</label>`)
          .join('')}</fieldset>`
      : '',
    `<label for="priority">${t(...FIELD_LABELS.priority)}</label><select id="priority" name="priority">`,
    `<option value="normal"${value(form, 'priority') !== 'urgent' ? ' selected' : ''}>${t('普通', 'normal')}</option>`,
    `<option value="urgent"${value(form, 'priority') === 'urgent' ? ' selected' : ''}>${t('紧急（所有渠道、夜间也发）', 'urgent (every channel, also at night)')}</option>`,
    '</select>',
    `<button type="submit">${t('预览', 'Preview')}</button>`,
    '</form>',
  ].join('');
  return page({ title: ['撰写政策', 'Compose a policy'], user, csrf, nav: 'compose' }, [
    problemsList(problems),
    section(['政策内容', 'The policy'], body),
  ]);
}

/** The form's values again, hidden, so that Publish (or Edit) posts exactly what was previewed. */
function hiddenFields(form: PolicyForm): string {
  const names = ['departmentId', 'docNumber', 'title', 'summary', 'titleEn', 'summaryEn', 'url', 'categoryIds', 'groupIds', 'priority'];
  return names.flatMap((n) => values(form, n).map((v) => `<input type="hidden" name="${n}" value="${e(v)}">`)).join('');
}

function renderedMessage(r: RenderedSample): string {
  const m = r.message;
  const head = `<h3 data-rendered="${r.channel}">${channelLabel(r.channel)} → ${e(maskAddress(r.to))} <span class="muted">(${e(r.locale)})</span></h3>`;
  if (m.channel === 'sms') {
    const s = smsSegments(m.content.text);
    return `${head}<div class="msg">${e(m.content.text)}</div><p data-sms-segments="${m.content.segments}">${t('分段', 'Segments')}: <strong>${m.content.segments}</strong> · ${e(s.encoding)} · ${s.units} ${t('字符单位', 'units')}</p>`;
  }
  if (m.channel === 'email') {
    return `${head}<p>${t('主题', 'Subject')}: <strong data-email-subject>${e(m.content.subject)}</strong></p><div class="msg">${e(m.content.text)}</div>`;
  }
  const rows = Object.entries(m.content.data).map(([key, field]) => [
    e(key),
    e(r.limits[key] ?? ''),
    `<td data-wechat-field="${e(key)}">${e(field.value)}${r.cut.includes(key) ? ` <span class="cut">${t('已截断', 'cut')}</span>` : ''}</td>`,
    `<td class="n">${[...field.value].length}</td>`,
  ]);
  return `${head}${table([t('字段', 'Field'), t('类型', 'Type'), t('内容', 'Value'), t('字数', 'Chars')], rows)}<p class="muted">${t('链接', 'Link')}: ${e(m.content.url)}</p>`;
}

/** `largeAudience`: LARGE_AUDIENCE_THRESHOLD; past it, publishing needs the confirmation box ticked. */
export function previewPage(form: PolicyForm, p: ComposePreview, user: OpsUser, csrf: string, largeAudience: number): string {
  const a = p.audience;
  const needsConfirmation = largeAudience > 0 && a.contacts > largeAudience;
  const counts = [
    [t('企业', 'Enterprises'), a.enterprises, 'enterprises'],
    [t('联系人', 'Contacts'), a.contacts, 'contacts'],
    [t('投递', 'Deliveries'), a.deliveries, 'deliveries'],
    [channelLabel('wechat'), a.byChannel.wechat, 'wechat'],
    [channelLabel('sms'), a.byChannel.sms, 'sms'],
    [channelLabel('email'), a.byChannel.email, 'email'],
    [t('待汇总', 'Held for digest'), a.held, 'held'],
  ] as const;
  const sample = table(
    [t('企业', 'Enterprise'), t('联系人', 'Contact'), t('渠道', 'Channel'), t('状态', 'Status'), t('匹配原因', 'Why it matched')],
    a.sample.map((s) => [
      e(s.enterpriseName),
      `#${s.contactId}`,
      channelLabel(s.channel),
      statusLabel(s.status),
      [
        s.categoryCodes.length
          ? `${t('分类', 'categories')}: ${e(s.categoryCodes.join(', '))}`
          : t('按部门订阅', 'subscribed to the department'),
        s.groupNames.length ? `${t('群组', 'groups')}: ${e(s.groupNames.join(', '))}` : '',
      ]
        .filter(Boolean)
        .join('<br>'),
    ]),
    ' data-table="sample"',
  );
  return page({ title: ['发布前预览', 'Preview before publishing'], user, csrf, nav: 'compose' }, [
    section(
      ['受众', 'Audience'],
      `<dl class="facts" data-preview>${counts.map(([k, v, key]) => `<dt>${k}</dt><dd data-count="${key}">${num(v)}</dd>`).join('')}</dl>`,
    ),
    section(['样本（前 20）', 'Sample (first 20)'], sample),
    section(
      ['各渠道消息', 'Each channel’s message'],
      p.rendered.length
        ? p.rendered.map(renderedMessage).join('')
        : `<p class="muted">${t('没有可发送的联系人', 'No contact to send to')}</p>`,
    ),
    section(
      ['发布', 'Publish'],
      [
        `<p>${e(p.input.title)}</p>`,
        '<form method="post" action="/ops/compose/publish">',
        csrfField(csrf),
        hiddenFields(form),
        needsConfirmation
          ? `<p><label><input type="checkbox" name="confirmLargeAudience" value="yes" required> ${t(
              `确认发送给 ${num(a.contacts)} 个联系人（超过 ${num(largeAudience)}）`,
              `I confirm sending to ${num(a.contacts)} contacts (more than ${num(largeAudience)})`,
            )}</label></p>`
          : '',
        `<button type="submit" id="publish">${t('确认发布', 'Publish now')}</button>`,
        '</form>',
        '<form method="post" action="/ops/compose/edit">',
        csrfField(csrf),
        hiddenFields(form),
        `<button type="submit" class="secondary">${t('返回修改', 'Back to edit')}</button>`,
        '</form>',
      ].join(''),
    ),
  ]);
}

export interface PolicyWatch {
  policy: { id: number; title: string; docNumber: string; status: string; version: number; priority: string; publishAt: Date };
  progress: Record<string, number | string | boolean> | null;
  /** The reach counters (packages/db reach-queries), when they could be read. */
  reach: ReachBreakdown | null;
}

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

/** One bar per stage, as a share of the targeted enterprises, and why the unaddressable were. */
function reachFunnel(c: ReachCounts, addressableKnown: boolean): string {
  const rows = REACH_LABELS.map(([key, zh, en]) => [
    t(zh, en),
    `<td data-reach="${key}" class="n">${num(c[key])}</td>`,
    `<td>${stackedBar([{ key: key === 'engaged' ? 'sms' : 'delivered', value: c[key], label: en }], Math.max(c.targeted, 1))}</td>`,
  ]);
  const pct = (n: number) => (c.targeted ? `${((n / c.targeted) * 100).toFixed(1)}%` : '—');
  const why = UNADDRESSABLE_LABELS.map(
    ([key, zh, en]) => `<dt>${t(zh, en)}</dt><dd data-unaddressable="${key}">${num(c.unaddressable[key])}</dd>`,
  ).join('');
  return (
    table([t('阶段', 'Stage'), t('企业', 'Enterprises'), ''], rows) +
    (addressableKnown
      ? `<h3>${t('无法联系的原因', 'Why not addressable')}</h3><dl class="facts">${why}</dl>`
      : `<p class="muted" data-addressable-known="false">${t(
          '此政策在记录无法联系的企业之前推送：目标企业只计有投递的企业。',
          'Pushed before unaddressable enterprises were recorded: targeted counts only enterprises with a delivery.',
        )}</p>`) +
    `<p>${t('到达率', 'Reach rate')}: <strong data-reach="rate">${pct(c.reached)}</strong> · ${t('知晓度', 'Awareness')}: <strong data-reach="awareness">${pct(c.engaged)}</strong></p>`
  );
}

/** Reached of targeted per group (channel, district), as bars. */
function reachBars(groups: { name: string; label: string; counts: ReachCounts }[]): string {
  return table(
    [t('分组', 'Group'), t('到达 / 目标', 'Reached / targeted'), ''],
    groups.map((g) => [
      g.label,
      `<td class="n">${num(g.counts.reached)} / ${num(g.counts.targeted)}</td>`,
      `<td>${stackedBar([{ key: COLORS[g.name] ? g.name : 'delivered', value: g.counts.reached, label: g.name }], Math.max(g.counts.targeted, 1))}</td>`,
    ]),
  );
}

// matched, then every status: the parts it is the sum of.
const FUNNEL = ['matched', ...DELIVERY_STATUSES] as const;

/** The push's numbers, named as GET /v1/policies/{id}/push names them (data-field), refreshed until done. */
export function policyPage(w: PolicyWatch, user: OpsUser, csrf: string): string {
  const p = w.progress;
  const counts = p ? Object.fromEntries(Object.keys(STATUS_LABELS).map((k) => [k, Number(p[k] ?? 0)])) : {};
  const done = p?.done === true;
  const reached = p ? Number(p.sent) + Number(p.delivered) : 0;
  const funnel = p
    ? [
        pushProgressBar(counts),
        legend(
          ['delivered', 'sent', 'undelivered', 'failed', 'sending', 'pending'].map((key) => ({ key, label: STATUS_LABELS[key].join(' ') })),
        ),
        `<dl class="facts" data-push="${e(String(p.id))}" data-done="${done}">`,
        `<dt>${t('推送状态', 'Push status')}</dt><dd data-field="status">${e(String(p.status))}</dd>`,
        ...FUNNEL.map(
          (k) => `<dt>${k === 'matched' ? t('匹配', 'matched') : statusLabel(k)}</dt><dd data-field="${k}">${num(Number(p[k] ?? 0))}</dd>`,
        ),
        `<dt>${t('已发出（含送达）', 'Sent or delivered')}</dt><dd>${num(reached)}</dd>`,
        `<dt>${t('完成', 'Done')}</dt><dd data-field="done">${done ? t('是', 'yes') : t('否', 'no')}</dd>`,
        '</dl>',
      ].join('')
    : `<p class="muted">${t('尚无推送', 'No push yet')}</p>`;
  return page({ title: ['推送进度', 'Push progress'], user, csrf, nav: 'compose', refreshSeconds: done ? undefined : 3 }, [
    section(
      ['政策', 'Policy'],
      `<dl class="facts" data-policy="${w.policy.id}"><dt>${t('标题', 'Title')}</dt><dd>${e(w.policy.title)}</dd><dt>${t('文号', 'Document number')}</dt><dd>${e(w.policy.docNumber)}</dd><dt>${t('状态', 'Status')}</dt><dd>${e(w.policy.status)} · v${w.policy.version} · ${e(w.policy.priority)}</dd><dt>${t('发布时间', 'Published')}</dt><dd>${when(w.policy.publishAt)}</dd></dl>`,
    ),
    section(['推送漏斗', 'Push funnel'], funnel),
    w.reach
      ? section(
          ['到达漏斗', 'Reach funnel'],
          reachFunnel(w.reach.totals, w.reach.addressableKnown) +
            `<h3>${t('按渠道', 'By channel')}</h3>` +
            reachBars(w.reach.byChannel.map((r) => ({ name: r.channel, label: channelLabel(r.channel), counts: r }))) +
            `<h3>${t('按区县', 'By district')}</h3>` +
            reachBars(w.reach.byDistrict.map((r) => ({ name: r.district, label: e(r.district), counts: r }))) +
            `<p class="muted">${t('到达数据来自后台汇总的计数器，可能比推送进度稍晚。', 'Reach comes from counters recounted in the background: it may trail the push numbers a little.')}</p>`,
          ' data-reach-funnel',
        )
      : '',
    `<p><a href="/ops/deliveries?policyId=${w.policy.id}">${t('查看此政策的投递记录', 'This policy’s deliveries')} →</a></p>`,
  ]);
}
