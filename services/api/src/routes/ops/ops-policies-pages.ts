// The policies list (issue 14): the console's home for publishers and a way back to every push
// for operators. Reach, reached % and awareness % come from the reach counters (reach_rollup).
import type { PolicyOverviewRow } from '@policy-push/db';
import type { FieldProblem } from '../../errors';
import { fieldError, formProblems, formValue, type FormValues } from './ops-forms';
import { e, num, page, section, t, table, when } from './ops-layout';
import type { OpsUser } from './ops-session';

export const POLICY_STATUSES = ['scheduled', 'published', 'revoked', 'expired', 'cancelled'] as const;

export const POLICY_STATUS_LABELS: Record<string, [string, string]> = {
  scheduled: ['待发布', 'scheduled'],
  published: ['已发布', 'published'],
  revoked: ['已撤回', 'revoked'],
  expired: ['已失效', 'expired'],
  cancelled: ['已取消', 'cancelled'],
};
export const policyStatusLabel = (s: string) => (POLICY_STATUS_LABELS[s] ? t(...POLICY_STATUS_LABELS[s]) : e(s));

export const percent = (part: number, whole: number) => (whole ? `${((part / whole) * 100).toFixed(1)}%` : '—');

export interface PoliciesView {
  filter: FormValues;
  departments: { id: number; nameZh: string; nameEn: string }[];
  rows: PolicyOverviewRow[];
  /** The query string of the next page, or null on the last. */
  next: string | null;
  problems: FieldProblem[];
}

const FILTER_FIELDS = ['q', 'departmentId', 'status', 'from', 'to'];

export function policiesPage(v: PoliciesView, user: OpsUser, csrf: string): string {
  const f = v.filter;
  const select = (name: string, options: [string, string][]) =>
    `<select id="f-${name}" name="${name}"><option value="">${t('全部', 'all')}</option>${options
      .map(([value, label]) => `<option value="${e(value)}"${formValue(f, name) === value ? ' selected' : ''}>${label}</option>`)
      .join('')}</select>`;
  const filters = [
    '<form class="filters" method="get" action="/ops/policies" role="search">',
    `<label for="f-q">${t('标题或文号', 'Title or document number')}<input type="text" id="f-q" name="q" value="${e(formValue(f, 'q'))}" maxlength="200">${fieldError(v.problems, 'q')}</label>`,
    v.departments.length > 1
      ? `<label for="f-departmentId">${t('部门', 'Department')}${select(
          'departmentId',
          v.departments.map((d) => [String(d.id), `${e(d.nameZh)} · ${e(d.nameEn)}`]),
        )}${fieldError(v.problems, 'departmentId')}</label>`
      : '',
    `<label for="f-status">${t('状态', 'Status')}${select(
      'status',
      POLICY_STATUSES.map((s) => [s, policyStatusLabel(s)]),
    )}${fieldError(v.problems, 'status')}</label>`,
    `<label for="f-from">${t('发布日期从', 'Published from')}<input type="date" id="f-from" name="from" value="${e(formValue(f, 'from'))}">${fieldError(v.problems, 'from')}</label>`,
    `<label for="f-to">${t('至', 'to')}<input type="date" id="f-to" name="to" value="${e(formValue(f, 'to'))}">${fieldError(v.problems, 'to')}</label>`,
    `<button type="submit">${t('筛选', 'Filter')}</button>`,
    '</form>',
  ].join('');
  const rows = v.rows.map((r) => [
    `<td data-label="标题 Title"><a href="/ops/policies/${r.id}" data-policy-link="${r.id}">${e(r.title)}</a>${r.test ? ` <span class="muted">${t('测试', 'test')}</span>` : ''}</td>`,
    `<td data-label="文号 Doc no.">${e(r.docNumber)}</td>`,
    `<td data-label="部门 Department">${e(r.departmentNameZh)} <span lang="en">${e(r.departmentNameEn)}</span></td>`,
    `<td data-label="状态 Status" data-status="${e(r.status)}">${policyStatusLabel(r.status)}</td>`,
    `<td data-label="发布时间 Published">${when(r.publishAt)}</td>`,
    `<td class="n" data-label="目标 Targeted" data-col="targeted">${num(r.targeted)}</td>`,
    `<td class="n" data-label="到达率 Reached" data-col="reached">${percent(r.reached, r.targeted)}</td>`,
    `<td class="n" data-label="知晓度 Awareness" data-col="awareness">${percent(r.engaged, r.targeted)}</td>`,
  ]);
  const more = v.next
    ? `<p><a rel="next" href="/ops/policies?${e(v.next)}">${t('下一页', 'Next page')} →</a></p>`
    : v.rows.length
      ? `<p class="muted">${t('已到最后', 'End of the list')}</p>`
      : '';
  return page({ title: ['政策', 'Policies'], user, csrf, nav: 'policies' }, [
    formProblems(v.problems, FILTER_FIELDS),
    section(['查找', 'Find'], filters),
    section(
      ['政策列表', 'Every policy'],
      table(
        [
          t('标题', 'Title'),
          t('文号', 'Document number'),
          t('部门', 'Department'),
          t('状态', 'Status'),
          t('发布时间', 'Published'),
          `<span class="n">${t('目标企业', 'Targeted')}</span>`,
          t('到达率', 'Reached'),
          t('知晓度', 'Awareness'),
        ],
        rows,
        ' data-table="policies" class="cards"',
      ) + more,
    ),
  ]);
}
