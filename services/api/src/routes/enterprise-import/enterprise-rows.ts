// One CSV row → the enterprise and contact it describes, checked by the same rules as
// POST /v1/enterprises and POST /v1/enterprises/{id}/contacts: their TypeBox schemas (compiled
// here without defaults, so an empty cell stays "not given") and their services' domain checks.
import type { ImportedContact, ImportedEnterprise } from '@policy-push/db';
import { Ajv, type ErrorObject } from 'ajv';
import addFormats from 'ajv-formats';
import type { FieldProblem } from '../../errors';
import { ContactCreate } from '../contacts/contacts-schemas';
import { type ContactInput, contactValues, noAddress } from '../contacts/contacts-service';
import { EnterpriseCreate } from '../enterprises/enterprises-schemas';
import { checkEnterprise, type EnterpriseInput } from '../enterprises/enterprises-service';

export const ENTERPRISE_CSV_COLUMNS = {
  required: ['credit_code', 'name', 'industry_section', 'district', 'size'],
  optional: ['industry_division', 'tags', 'contact_name', 'phone', 'email', 'wechat_openid', 'locale', 'channels'],
} as const;

const CONTACT_COLUMNS = ['contact_name', 'phone', 'email', 'wechat_openid', 'locale', 'channels'] as const;

// The API's field paths → the file's columns, so that a report names what to fix in the file.
const ENTERPRISE_COLUMN_OF: Record<string, string> = {
  creditCode: 'credit_code',
  name: 'name',
  industry: 'industry_section',
  'industry.section': 'industry_section',
  'industry.division': 'industry_division',
  district: 'district',
  size: 'size',
  tags: 'tags',
};
const CONTACT_COLUMN_OF: Record<string, string> = {
  name: 'contact_name',
  phone: 'phone',
  email: 'email',
  wechatOpenid: 'wechat_openid',
  locale: 'locale',
  channels: 'channels',
};

// As the API's body validator (plugins/validation.ts), but without useDefaults: a default would
// overwrite a stored value that the row leaves empty.
const ajv = addFormats.default(
  new Ajv({ allErrors: true, removeAdditional: false, useDefaults: false, coerceTypes: false, strict: false }),
);
const enterpriseShape = ajv.compile(EnterpriseCreate);
const contactShape = ajv.compile(ContactCreate);

export type CheckedRow =
  | { ok: true; creditCode: string; enterprise: ImportedEnterprise; contact: Omit<ImportedContact, 'enterpriseId'> | null }
  | { ok: false; creditCode: string | null; errors: FieldProblem[] };

/** '' → absent, as the API's "not given". */
const given = (cell: string | undefined) => (cell === undefined || cell === '' ? undefined : cell);
/** 'a|b|' → ['a', 'b']: tags and channels are '|'-separated. */
const list = (cell: string | undefined) =>
  given(cell)
    ?.split('|')
    .map((v) => v.trim())
    .filter(Boolean);

/** The row checked as a whole, enterprise and contact: nothing of it is written unless all of it is sound. */
export function checkEnterpriseRow(cells: Record<string, string>, columns: { tags: boolean }): CheckedRow {
  const errors = new ProblemList();
  // An empty cell is an absent field: a missing name is `required`, as in the API.
  const enterpriseInput = {
    creditCode: given(cells.credit_code),
    name: given(cells.name),
    industry: { section: given(cells.industry_section), division: given(cells.industry_division) },
    district: given(cells.district),
    size: given(cells.size),
    tags: columns.tags ? (list(cells.tags) ?? []) : undefined,
  } as Partial<EnterpriseInput>;
  if (!enterpriseShape(enterpriseInput)) errors.addAjv(enterpriseShape.errors, ENTERPRISE_COLUMN_OF);
  const enterprise = checkEnterprise(enterpriseInput);
  errors.add(enterprise.problems, ENTERPRISE_COLUMN_OF);

  let contact: Omit<ImportedContact, 'enterpriseId'> | null = null;
  if (CONTACT_COLUMNS.some((c) => given(cells[c]) !== undefined)) {
    const contactInput: ContactInput = {
      name: given(cells.contact_name),
      phone: given(cells.phone),
      email: given(cells.email),
      wechatOpenid: given(cells.wechat_openid),
      locale: given(cells.locale) as ContactInput['locale'],
      channels: list(cells.channels) as ContactInput['channels'],
    };
    if (!contactShape(contactInput)) errors.addAjv(contactShape.errors, CONTACT_COLUMN_OF);
    const { values, problems } = contactValues(contactInput);
    errors.add([...problems, ...noAddress(values)], CONTACT_COLUMN_OF);
    contact = {
      name: values.name ?? null,
      phone: values.phone ?? null,
      email: values.email ?? null,
      wechatOpenid: values.wechatOpenid ?? null,
      locale: values.locale ?? null,
      channels: values.channels ?? null,
    };
  }

  const creditCode = enterprise.values.creditCode ?? null;
  if (!errors.empty || !creditCode) return { ok: false, creditCode, errors: errors.list };
  const v = enterprise.values;
  return {
    ok: true,
    creditCode,
    enterprise: {
      creditCode,
      name: v.name!,
      industrySection: v.industrySection!,
      industryDivision: v.industryDivision ?? null,
      district: v.district!,
      size: v.size!,
      tags: v.tags ?? [],
    },
    contact,
  };
}

/** One problem per column (the first found), named by the file's column. */
class ProblemList {
  readonly list: FieldProblem[] = [];

  get empty() {
    return this.list.length === 0;
  }

  add(problems: FieldProblem[], columnOf: Record<string, string>) {
    for (const { path, code } of problems) {
      const column = columnOf[path.replace(/\.\d+$/, '')] ?? path;
      if (!this.list.some((p) => p.path === column)) this.list.push({ path: column, code });
    }
  }

  addAjv(errors: ErrorObject[] | null | undefined, columnOf: Record<string, string>) {
    this.add(
      (errors ?? [])
        // Inside a union (a locale, a nullable address), "not this literal" and "not null" say
        // less than the union's own anyOf or a sibling's format/maxLength.
        .filter((e) => !(e.schemaPath.includes('/anyOf/') && (e.keyword === 'const' || e.keyword === 'type')))
        .map((e) => {
          const path = [...e.instancePath.split('/').filter(Boolean), (e.params as { missingProperty?: string }).missingProperty]
            .filter(Boolean)
            .join('.');
          return { path, code: e.keyword };
        }),
      columnOf,
    );
  }
}
