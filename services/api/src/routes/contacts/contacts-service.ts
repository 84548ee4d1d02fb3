import { parsePhone, type Channel } from '@policy-push/core';
import { type Contact, type Database, type NewContact, getContactForUpdate, insertContact, updateContact } from '@policy-push/db';
import { ApiError, isForeignKeyViolation, notFound, rejected } from '../../errors';

export type ConsentSource = 'imported' | 'self-service' | 'agency-entered';

export interface ContactInput {
  name?: string | null;
  phone?: string | null;
  email?: string | null;
  wechatOpenid?: string | null;
  locale?: 'zh-Hans' | 'zh-Hant' | 'en';
  channels?: Channel[];
  optedOut?: Channel[];
  consentSource?: ConsentSource;
  quietHours?: string | null;
}

export type Problem = { path: string; code: string; message: string };

// 'HH:MM-HH:MM', Asia/Shanghai; the window may run past midnight (22:00-08:00).
const QUIET_HOURS = /^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$/;

// The local part of an address may be case-sensitive; the domain never is.
function normaliseEmail(email: string): string {
  const at = email.lastIndexOf('@');
  return email.slice(0, at) + email.slice(at).toLowerCase();
}

/** The columns for the given fields, normalised, with any problem found in them (the CSV import uses it too). */
export function contactValues(input: ContactInput): { values: Partial<NewContact>; problems: Problem[] } {
  const problems: Problem[] = [];
  const values: Partial<NewContact> = { ...input };
  if (typeof input.phone === 'string') {
    const parsed = parsePhone(input.phone, 'CN');
    if (parsed.ok) values.phone = parsed.e164;
    else if (parsed.reason === 'not_mobile') {
      problems.push({ path: 'phone', code: 'phone_not_mobile', message: 'the number is not a mobile: SMS needs one' });
    } else problems.push({ path: 'phone', code: 'invalid_phone', message: 'not a valid phone number' });
  }
  if (typeof input.email === 'string') values.email = normaliseEmail(input.email);
  if (typeof input.quietHours === 'string') {
    const [from, to] = input.quietHours.split('-');
    // An empty window (from = to) would read as "never" to some and "always" to others.
    if (!QUIET_HOURS.test(input.quietHours) || from === to) {
      problems.push({ path: 'quietHours', code: 'invalid_quiet_hours', message: "quiet hours are 'HH:MM-HH:MM', e.g. 22:00-08:00" });
    }
  }
  // Consent is recorded when its source is stated: the time says when it was given.
  if (input.consentSource !== undefined) values.consentAt = new Date();
  return { values, problems };
}

/** The no_address problems of a contact that would keep none of phone, email and openid. */
export function noAddress(c: Pick<NewContact, 'phone' | 'email' | 'wechatOpenid'>): Problem[] {
  if (c.phone || c.email || c.wechatOpenid) return [];
  const message = 'a contact needs a phone, an email or a WeChat openid';
  return (['phone', 'email', 'wechatOpenid'] as const).map((path) => ({ path, code: 'no_address', message }));
}

export async function createContact(db: Database, enterpriseId: number, input: ContactInput): Promise<Contact> {
  const { values, problems } = contactValues({ consentSource: 'agency-entered', ...input });
  problems.push(...noAddress(values));
  if (problems.length) throw rejected(problems);
  try {
    return await insertContact(db, { ...values, enterpriseId });
  } catch (err) {
    // The foreign key is the existence check of the enterprise.
    if (isForeignKeyViolation(err)) throw notFound('enterprise');
    throw err;
  }
}

export async function changeContact(db: Database, id: number, input: ContactInput): Promise<Contact> {
  const { values, problems } = contactValues(input);
  if (problems.length) throw rejected(problems);
  return db.transaction(async (tx) => {
    // Locked, so that two partial updates clearing different addresses cannot both pass the check.
    const current = await getContactForUpdate(tx, id);
    if (!current) throw notFound('contact');
    // Erased on request: it must never be reachable again (a new address means a new contact).
    if (current.erasedAt) throw new ApiError(409, 'contact_erased', 'the contact was erased; add a new contact instead');
    const missing = noAddress({ ...current, ...values });
    if (missing.length) throw rejected(missing);
    // A confirmation was of one address: a new address is unconfirmed.
    if (values.email !== undefined && values.email !== current.email) values.emailConfirmedAt = null;
    return updateContact(tx, id, values);
  });
}
