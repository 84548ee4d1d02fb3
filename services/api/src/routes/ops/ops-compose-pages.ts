// The publisher's pages: compose a policy, preview its audience and each channel's message,
// publish (the policy's page, where its numbers fill, is ops-policy-page.ts).
import { districts, enterpriseSizes, industrySections, smsSegments, CHANNELS, type Channel } from '@policy-push/core';
import { fieldError } from './ops-forms';
import type { FieldProblem } from '../../errors';
import { channelLabel, csrfField, e, maskAddress, num, page, section, statusLabel, t, table } from './ops-layout';
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
  interpretationUrls: ['解读链接', 'Interpretation links'],
  publishAt: ['发布时间（北京时间，留空即刻发布）', 'Publish at (Beijing time; empty: now)'],
  validUntil: ['失效时间（北京时间）', 'Expires (Beijing time)'],
  actionBy: ['办理截止时间（北京时间；申报期、申请窗口）', 'Act by (Beijing time; an application window closing)'],
  followUpAfter: [
    '发布后第几天提醒未阅读的企业（天，逗号分隔）',
    'Remind enterprises not yet engaged, days after publication (comma-separated)',
  ],
  followUpBefore: ['截止前几天提醒（天，逗号分隔）', 'Remind them, days before act-by (comma-separated)'],
  followUp: ['跟进提醒', 'Follow-up reminders'],
};

/** What the audience would be: counts only (the compose page's "count", and its script's). */
export interface AudienceCount {
  enterprises: number;
  contacts: number;
  deliveries: number;
  byChannel: Record<Channel, number>;
}

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

export function composePage(
  form: PolicyForm,
  choices: ComposeChoices,
  problems: FieldProblem[],
  user: OpsUser,
  csrf: string,
  count?: AudienceCount,
): string {
  const error = (...names: string[]) => fieldError(problems, ...names);
  const text = (name: string, type = 'text', extra = '') =>
    `<label for="${name}">${t(...FIELD_LABELS[name])}</label><input type="${type}" id="${name}" name="${name}" value="${e(value(form, name))}"${extra}>${error(name)}`;
  const area = (name: string, extra = '') =>
    `<label for="${name}">${t(...FIELD_LABELS[name])}</label><textarea id="${name}" name="${name}"${extra}>${e(value(form, name))}</textarea>${error(name)}`;
  const checked = (name: string, id: number | string) => (values(form, name).includes(String(id)) ? ' checked' : '');
  const boxes = (name: string, list: readonly { code: string; nameZh: string; nameEn: string }[]) =>
    list
      .map(
        (x) =>
          `<label><input type="checkbox" name="${name}" value="${e(x.code)}"${checked(name, x.code)}> ${e(x.nameZh)} <span lang="en">${e(x.nameEn)}</span></label>`,
      )
      .join('');
  const links = values(form, 'interpretationUrls');
  const ruleBuilder = [
    `<fieldset data-rule><legend>${t('受众规则', 'Audience rule')} <span class="muted">${t(
      '（各项之间为“且”；每项内任选其一）',
      '(dimensions are ANDed; any value within one)',
    )}</span></legend>`,
    error('audience.rule', 'audience'),
    `<details${values(form, 'industries').length || value(form, 'divisions') ? ' open' : ''}><summary>${t('行业门类', 'Industry sections')}</summary>${boxes('industries', industrySections)}</details>`,
    `<label for="divisions">${t('行业大类代码（两位数字，逗号分隔）', 'Industry divisions (2-digit codes, comma-separated)')}</label><input type="text" id="divisions" name="divisions" value="${e(value(form, 'divisions'))}" placeholder="13, 39">`,
    error('audience.rule.industries'),
    `<details${values(form, 'districts').length ? ' open' : ''}><summary>${t('区县', 'Districts')}</summary>${boxes('districts', districts)}</details>`,
    error('audience.rule.districts'),
    `<details${values(form, 'sizes').length ? ' open' : ''}><summary>${t('企业规模', 'Sizes')}</summary>${boxes('sizes', enterpriseSizes)}</details>`,
    error('audience.rule.sizes'),
    `<label for="tags">${t('标签（逗号分隔）', 'Tags (comma-separated)')}</label><input type="text" id="tags" name="tags" value="${e(value(form, 'tags'))}">`,
    `<label><input type="radio" name="tagsMode" value="any"${value(form, 'tagsMode') !== 'all' ? ' checked' : ''}> ${t('含任一标签', 'any of the tags')}</label>`,
    `<label><input type="radio" name="tagsMode" value="all"${value(form, 'tagsMode') === 'all' ? ' checked' : ''}> ${t('含全部标签', 'all of the tags')}</label>`,
    error('audience.rule.tags'),
    '</fieldset>',
  ].join('');
  const counted = count
    ? `<dl class="facts" data-audience-count>${(
        [
          ['enterprises', t('企业', 'Enterprises'), count.enterprises],
          ['contacts', t('联系人', 'Contacts'), count.contacts],
          ['wechat', channelLabel('wechat'), count.byChannel.wechat],
          ['sms', channelLabel('sms'), count.byChannel.sms],
          ['email', channelLabel('email'), count.byChannel.email],
        ] as const
      )
        .map(([k, label, n]) => `<dt>${label}</dt><dd data-live-count="${k}">${num(n)}</dd>`)
        .join('')}</dl>`
    : `<dl class="facts" data-audience-count>${['enterprises', 'contacts', ...CHANNELS]
        .map(
          (k) =>
            `<dt>${k === 'enterprises' ? t('企业', 'Enterprises') : k === 'contacts' ? t('联系人', 'Contacts') : channelLabel(k)}</dt><dd data-live-count="${k}">—</dd>`,
        )
        .join('')}</dl>`;
  const body = [
    '<form method="post" action="/ops/compose/preview" data-compose>',
    csrfField(csrf),
    `<label for="departmentId">${t(...FIELD_LABELS.departmentId)}</label><select id="departmentId" name="departmentId" required>`,
    ...choices.departments.map(
      (d) =>
        `<option value="${d.id}"${value(form, 'departmentId') === String(d.id) ? ' selected' : ''}>${e(d.nameZh)} · ${e(d.nameEn)}</option>`,
    ),
    '</select>',
    error('departmentId'),
    text('docNumber', 'text', ' required maxlength="100"'),
    text('title', 'text', ' required maxlength="200"'),
    area('summary', ' required maxlength="2000"'),
    text('titleEn', 'text', ' maxlength="300"'),
    area('summaryEn', ' maxlength="3000"'),
    text('url', 'url', ' required placeholder="https://"'),
    `<label for="interpretationUrls">${t(...FIELD_LABELS.interpretationUrls)}</label>`,
    ...Array.from(
      { length: Math.min(10, Math.max(2, links.length + 1)) },
      (_, i) =>
        `<input type="url" id="interpretationUrls${i ? `-${i}` : ''}" name="interpretationUrls" value="${e(links[i] ?? '')}" placeholder="https://">`,
    ),
    error('interpretationUrls'),
    `<fieldset><legend>${t(...FIELD_LABELS.categoryIds)}</legend>`,
    ...choices.categories.map(
      (c) =>
        `<label><input type="checkbox" name="categoryIds" value="${c.id}"${checked('categoryIds', c.id)}> ${e(c.nameZh)} <span lang="en">${e(c.nameEn)}</span></label>`,
    ),
    error('categoryIds'),
    '</fieldset>',
    `<div class="grid">`,
    ruleBuilder,
    choices.groups.length
      ? `<fieldset><legend>${t(...FIELD_LABELS.groupIds)} <span class="muted">${t('（群组或规则任一符合即可；都不选则面向全部订阅者）', '(in a group or matching the rule; neither: every subscriber)')}</span></legend>${choices.groups
          .map((g) => `<label><input type="checkbox" name="groupIds" value="${g.id}"${checked('groupIds', g.id)}> ${e(g.name)}</label>`)
          .join('')}${error('audience.groupIds')}</fieldset>`
      : '',
    '</div>',
    `<section class="notice" data-count-box><h3>${t('受众人数', 'Audience')}</h3>${counted}`,
    // An input, not a button: the form's one submit button stays Preview.
    `<input type="submit" class="secondary" formaction="/ops/compose/count" data-count-button value="计算人数 Count"></section>`,
    `<label for="priority">${t(...FIELD_LABELS.priority)}</label><select id="priority" name="priority">`,
    `<option value="normal"${value(form, 'priority') !== 'urgent' ? ' selected' : ''}>${t('普通', 'normal')}</option>`,
    `<option value="urgent"${value(form, 'priority') === 'urgent' ? ' selected' : ''}>${t('紧急（所有渠道、夜间也发）', 'urgent (every channel, also at night)')}</option>`,
    '</select>',
    text('publishAt', 'datetime-local'),
    text('validUntil', 'datetime-local'),
    text('actionBy', 'datetime-local'),
    text('followUpAfter', 'text', ' inputmode="numeric" placeholder="3"'),
    text('followUpBefore', 'text', ' inputmode="numeric" placeholder="2"'),
    error('followUp'),
    `<button type="submit">${t('预览', 'Preview')}</button>`,
    '</form>',
  ].join('');
  return page({ title: ['撰写政策', 'Compose a policy'], user, csrf, nav: 'compose', scripts: ['/ops/assets/compose-count.js'] }, [
    problemsList(problems),
    section(['政策内容', 'The policy'], body),
  ]);
}

/** The form's values again, hidden, so that Publish (or Edit) posts exactly what was previewed. */
function hiddenFields(form: PolicyForm): string {
  const names = [
    ...['departmentId', 'docNumber', 'title', 'summary', 'titleEn', 'summaryEn', 'url', 'categoryIds', 'groupIds', 'priority'],
    ...['interpretationUrls', 'industries', 'divisions', 'districts', 'sizes', 'tags', 'tagsMode', 'publishAt', 'validUntil'],
    ...['actionBy', 'followUpAfter', 'followUpBefore'],
  ];
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
