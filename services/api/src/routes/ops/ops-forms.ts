// Form pieces for the console's forms: what was typed is put back, and the API's field problems
// (path and code, as the API names them) are shown beside the field they are about.
import { shanghaiWallClock, fromShanghaiWallClock } from '@policy-push/core';
import type { FieldProblem } from '../../errors';
import { e, t } from './ops-layout';

/** A form as posted (urlencoded: repeated keys become arrays) or a query string. */
export type FormValues = Record<string, string | string[] | undefined>;

export const formValues = (form: FormValues, name: string) => {
  const v = form[name];
  return Array.isArray(v) ? v : v ? [v] : [];
};
export const formValue = (form: FormValues, name: string) => formValues(form, name)[0] ?? '';

// What a problem code means, for the codes a console form can get back.
const PROBLEM_WORDS: Record<string, [string, string]> = {
  required: ['必填', 'required'],
  minLength: ['不能为空', 'must not be empty'],
  maxLength: ['太长', 'too long'],
  format: ['格式不对', 'not in the right format'],
  pattern: ['格式不对', 'not in the right format'],
  enum: ['不是可选值', 'not one of the choices'],
  maxItems: ['太多', 'too many'],
  minProperties: ['没有任何修改', 'nothing was changed'],
  nothing_changed: ['没有任何修改', 'nothing was changed'],
  unknown_parameter: ['不认识的参数', 'unknown parameter'],
  unknown_department: ['没有这个部门', 'no such department'],
  unknown_group: ['没有这个群组', 'no such group'],
  unknown_category: ['没有这个分类', 'no such category'],
  publish_at_in_past: ['发布时间已过', 'publish time is in the past'],
  valid_until_before_publish: ['失效时间须晚于发布时间', 'expiry must be after the publish time'],
  valid_until_in_past: ['失效时间已过', 'expiry is in the past'],
  already_published: ['已发布的政策不能改期', 'a published policy cannot be rescheduled'],
  duplicate_doc_number: ['该部门已有此文号', 'the department already has this document number'],
  to_not_after_from: ['结束日期须晚于开始日期', 'the end must be after the start'],
  confirm: ['请勾选确认', 'tick to confirm'],
  action_by_in_past: ['截止时间已过', 'act-by is in the past'],
  action_by_before_publish: ['截止时间须晚于发布时间', 'act-by must be after the publish time'],
  action_by_after_valid_until: ['截止时间不能晚于失效时间', 'act-by must not be after expiry'],
  action_by_missing: ['须先填写办理截止时间', 'needs an act-by time'],
  too_many_steps: ['提醒次数超过上限', 'more reminders than allowed'],
  step_after_action_by: ['提醒时间晚于截止时间', 'a reminder would come after act-by'],
  step_after_valid_until: ['提醒时间晚于失效时间', 'a reminder would come after expiry'],
  step_before_publish: ['提醒时间早于发布', 'a reminder would come before publication'],
};

export const problemWords = (code: string) => (PROBLEM_WORDS[code] ? t(...PROBLEM_WORDS[code]) : '');

/** The problems about `name` (its path or anything under it), shown beside its field. */
export function fieldError(problems: FieldProblem[], ...names: string[]): string {
  const mine = problems.filter((p) => names.some((n) => p.path === n || p.path.startsWith(`${n}.`)));
  if (!mine.length) return '';
  return mine
    .map(
      (p) =>
        `<span class="field-error" role="alert" data-error-for="${e(names[0])}" data-path="${e(p.path)}" data-code="${e(p.code)}">${e(p.code)} ${problemWords(p.code)}</span>`,
    )
    .join('');
}

/** Problems not about any of the form's fields (e.g. a 409), shown above it. */
export function formProblems(problems: FieldProblem[], fields: string[]): string {
  const rest = problems.filter((p) => !fields.some((n) => p.path === n || p.path.startsWith(`${n}.`)));
  if (!rest.length) return '';
  return `<div class="notice problem" role="alert" data-code="${e(rest[0].code)}">${rest
    .map((p) => `<p data-path="${e(p.path)}">${e(p.code)} ${problemWords(p.code)}</p>`)
    .join('')}</div>`;
}

// datetime-local inputs are Beijing time, as every time on these pages is.
/** "2026-12-07T13:05" (Beijing) → ISO; undefined for empty, null when not a time. */
export function fromLocalTime(v: string): string | undefined | null {
  if (!v) return undefined;
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(v)) return null;
  const d = fromShanghaiWallClock(v.length === 16 ? `${v}:00` : v);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

/** An instant as a datetime-local value in Beijing time. */
export function toLocalTime(d: Date | null | undefined): string {
  if (!d) return '';
  return shanghaiWallClock(d).toISOString().slice(0, 16);
}
