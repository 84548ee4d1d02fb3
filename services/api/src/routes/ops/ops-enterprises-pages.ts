// Enterprises and contacts (issue 14): search by name or credit code, and one enterprise's page
// with its contacts (masked for all but admins), subscriptions, consent and its history from the
// audit log, and the policies it received.
import type { AuditRow, Contact, Enterprise, EnterpriseHit, ReceivedPolicy, Subscription } from '@policy-push/db';
import { districts, enterpriseSizes, industrySections } from '@policy-push/core';
import { channelLabel, e, page, section, t, table, when } from './ops-layout';

/** A reference code by its names (GB/T 2260 districts, GB/T 4754 sections, sizes), the code beside them. */
function named(list: readonly { code: string; nameZh: string; nameEn: string }[], code: string): string {
  const found = list.find((x) => x.code === code);
  return found ? `${t(found.nameZh, found.nameEn)} <span class="muted">${e(code)}</span>` : e(code);
}
import type { OpsUser } from './ops-session';

export function enterprisesPage(text: string, rows: EnterpriseHit[], nextAfter: string | null, user: OpsUser, csrf: string): string {
  const form = [
    '<form class="filters" method="get" action="/ops/enterprises" role="search">',
    `<label>${t('企业名称或统一社会信用代码', 'Name or credit code')}<input type="text" name="q" value="${e(text)}" required maxlength="200"></label>`,
    `<button type="submit">${t('搜索', 'Search')}</button>`,
    '</form>',
  ].join('');
  const list = text
    ? table(
        [t('企业', 'Enterprise'), t('信用代码', 'Credit code'), t('行政区划', 'District'), t('行业门类', 'Section'), t('规模', 'Size')],
        rows.map((x) => [
          `<a href="/ops/enterprises/${x.id}" data-enterprise="${x.id}">${e(x.name)}</a>`,
          e(x.creditCode),
          named(districts, x.district),
          named(industrySections, x.industrySection),
          named(enterpriseSizes, x.size),
        ]),
        ' data-table="enterprises"',
      ) +
      (nextAfter
        ? `<p><a rel="next" href="/ops/enterprises?${e(new URLSearchParams({ q: text, after: nextAfter }).toString())}">${t('更多', 'More')} →</a></p>`
        : '')
    : `<p class="muted">${t('输入名称的一部分或完整的信用代码。', 'Type part of a name, or a whole credit code.')}</p>`;
  return page({ title: ['企业与联系人', 'Enterprises and contacts'], user, csrf, nav: 'enterprises' }, [
    section(['搜索', 'Search'], form),
    section(['企业', 'Enterprises'], list),
  ]);
}

export interface EnterpriseView {
  enterprise: Enterprise;
  /** As the role may see them (masked for all but admins). */
  contacts: Contact[];
  subscriptions: Subscription[];
  categoryNames: Map<number, string>;
  departmentNames: Map<number, string>;
  received: ReceivedPolicy[];
  history: AuditRow[];
}

const CONSENT_LABELS: Record<string, [string, string]> = {
  imported: ['批量导入', 'imported'],
  'self-service': ['本人自助', 'self-service'],
  'agency-entered': ['机构录入', 'agency-entered'],
};
const consentLabel = (s: string) => (CONSENT_LABELS[s] ? t(...CONSENT_LABELS[s]) : e(s));

const yes = (b: boolean) => (b ? '✓' : '—');

export function enterprisePage(v: EnterpriseView, user: OpsUser, csrf: string): string {
  const x = v.enterprise;
  const facts: [string, string][] = [
    [t('信用代码', 'Credit code'), e(x.creditCode)],
    [t('行政区划', 'District'), named(districts, x.district)],
    [t('行业', 'Industry'), `${named(industrySections, x.industrySection)}${x.industryDivision ? ` · ${e(x.industryDivision)}` : ''}`],
    [t('规模', 'Size'), named(enterpriseSizes, x.size)],
    [t('标签', 'Tags'), e(x.tags.join(', ') || '—')],
    [t('创建', 'Created'), when(x.createdAt)],
  ];
  const contacts = table(
    [
      t('编号', 'Id'),
      t('姓名', 'Name'),
      t('手机', 'Phone'),
      t('邮箱', 'Email'),
      t('微信 openid', 'WeChat openid'),
      t('渠道', 'Channels'),
      t('已退订', 'Opted out'),
      t('同意来源', 'Consent'),
      t('同意时间', 'Consent at'),
    ],
    v.contacts.map((c) => [
      `<td data-contact="${c.id}">${c.id}${c.erasedAt ? ` <span class="muted">${t('已删除', 'erased')}</span>` : ''}${c.suppressed ? ` <span class="muted">${t('已屏蔽', 'suppressed')}</span>` : ''}</td>`,
      e(c.name ?? '—'),
      e(c.phone ?? '—'),
      e(c.email ?? '—'),
      e(c.wechatOpenid ?? '—'),
      c.channels.map(channelLabel).join(', '),
      c.optedOut.map(channelLabel).join(', ') || '—',
      `<td data-consent="${e(c.consentSource)}">${consentLabel(c.consentSource)}</td>`,
      when(c.consentAt),
    ]),
    ' data-table="contacts"',
  );
  const subscriptions = table(
    [
      t('编号', 'Id'),
      t('分类', 'Categories'),
      t('部门', 'Departments'),
      t('渠道', 'Channels'),
      t('频率', 'Frequency'),
      t('有效', 'Active'),
    ],
    v.subscriptions.map((s) => [
      String(s.id),
      e(s.categoryIds.map((id) => v.categoryNames.get(id) ?? `#${id}`).join('、') || '—'),
      s.departmentIds.length ? e(s.departmentIds.map((id) => v.departmentNames.get(id) ?? `#${id}`).join('、')) : t('全部', 'all'),
      s.channels.map(channelLabel).join(', ') || t('按联系人', "contact's own"),
      e(s.frequency),
      yes(s.active),
    ]),
    ' data-table="subscriptions"',
  );
  const received = table(
    [
      t('政策', 'Policy'),
      t('文号', 'Doc number'),
      t('发布', 'Published'),
      t('已发送', 'Sent'),
      t('已触达', 'Reached'),
      t('已打开', 'Engaged'),
      t('投递', 'Deliveries'),
    ],
    v.received.map((r) => [
      `<a href="/ops/policies/${r.policyId}" data-received="${r.policyId}">${e(r.title)}</a>${r.unaddressable ? ` <span class="muted">${t('无法送达', 'unaddressable')}: ${e(r.unaddressable)}</span>` : ''}`,
      e(r.docNumber),
      when(r.publishAt),
      yes(r.sent),
      yes(r.reached),
      yes(r.engaged),
      r.deliveries
        ? `<a href="/ops/deliveries?${e(new URLSearchParams({ policyId: String(r.policyId), enterprise: x.creditCode }).toString())}">${r.deliveries}</a>`
        : '0',
    ]),
    ' data-table="received"',
  );
  const history = table(
    [t('时间', 'When'), t('操作', 'Action'), t('对象', 'Subject'), t('操作者', 'By'), t('详情', 'Details')],
    v.history.map((h) => [
      when(h.createdAt),
      `<td data-action="${e(h.action)}">${e(h.action)}</td>`,
      e(`${h.subjectType} ${h.subjectId ?? ''}`),
      e(h.actor === 'key' ? `key #${h.apiKeyId ?? '?'}` : h.actor),
      `<code>${e(h.details ? JSON.stringify(h.details) : '')}</code>`,
    ]),
    ' data-table="history"',
  );
  return page({ title: [x.name, `Enterprise ${x.id}`], user, csrf, nav: 'enterprises' }, [
    section(
      ['概况', 'Facts'],
      `<dl class="facts" data-enterprise="${x.id}">${facts.map(([k, val]) => `<dt>${k}</dt><dd>${val}</dd>`).join('')}</dl>`,
    ),
    section(
      ['联系人', 'Contacts'],
      contacts +
        `<p class="muted">${t('同意：来源与时间为当前记录；变更历史见下方审计记录。', 'Consent: its source and time as recorded now; its changes are in the history below.')}</p>`,
    ),
    section(['订阅', 'Subscriptions'], subscriptions),
    section(
      ['收到的政策', 'Policies it received'],
      received +
        `<p><a href="/ops/deliveries?${e(new URLSearchParams({ enterprise: x.creditCode }).toString())}">${t('全部投递', 'All its deliveries')} →</a></p>`,
    ),
    section(['历史（审计日志）', 'History (audit log)'], history),
  ]);
}
