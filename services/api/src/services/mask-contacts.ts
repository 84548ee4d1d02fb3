// Operators see delivery logs and contacts, but not whom to call: phone numbers, emails and
// openids are masked in everything an ops key is answered (138****5678, a***@example.com), and so
// are contacts' names (王**), personal data too.

// Fields that hold an address whatever it looks like (the provider answers use `to`, `To`…).
const ADDRESS_KEYS = new Set(['phone', 'email', 'wechatopenid', 'openid', 'to', 'from', 'touser', 'recipient', 'address', 'accepted']);
const EMAIL = /([^\s@"'<>,;:]{1,64})@([A-Za-z0-9.-]+\.[A-Za-z]{2,})/g;
// E.164 (+8613812345678) and mainland mobiles (13812345678), not inside longer digit runs.
const PHONE = /(?<![\d\w])(\+?\d{0,3})(1[3-9]\d)(\d{4})(\d{4})(?!\d)|(?<![\d\w])(\+\d{1,3}\d{3})(\d{3,6})(\d{4})(?!\d)/g;

export function maskEmail(email: string): string {
  return email.replace(EMAIL, (_m, local: string, domain: string) => `${local[0]}***@${domain}`);
}

export function maskPhones(text: string): string {
  return text.replace(PHONE, (m, cc, head, _mid, tail, intlHead, _intlMid, intlTail) =>
    head ? `${cc}${head}****${tail}` : intlHead ? `${intlHead}****${intlTail}` : m,
  );
}

/** An openid keeps its first and last four characters. */
export const maskOpenid = (openid: string) => (openid.length > 8 ? `${openid.slice(0, 4)}****${openid.slice(-4)}` : '****');

/** Phones and emails anywhere in a text. */
export const maskText = (text: string) => maskPhones(maskEmail(text));

function maskAddress(value: string): string {
  // Masked already (by a service that masks what it streams as well): masking again would change it.
  if (value.includes('****')) return value;
  if (value.includes('@')) return maskEmail(value);
  const phone = maskPhones(value);
  if (phone !== value) return phone;
  return maskOpenid(value);
}

/** An enterprise's name, for those who may see its reach gaps but not whom they are: 广州****公司. */
export function maskEnterpriseName(name: string): string {
  const chars = [...name];
  return chars.length > 6 ? `${chars.slice(0, 2).join('')}****${chars.slice(-2).join('')}` : `${chars[0] ?? ''}****`;
}

/** A person's name keeps its first character: 王小明 → 王**. */
export function maskPersonName(name: string): string {
  const chars = Array.from(name);
  return chars.length ? `${chars[0]}${'*'.repeat(Math.max(1, chars.length - 1))}` : name;
}

// An object with a name and an address field is a contact: its `name` is a person's.
const isContact = (o: object) => 'name' in o && ('phone' in o || 'email' in o || 'wechatOpenid' in o);

/** A copy of a JSON value with every address and contact name masked; ids (`id`, `…Id`) are left alone. */
export function maskContacts(value: unknown, key = ''): unknown {
  if (typeof value === 'string') {
    if (key === 'id' || key.endsWith('Id') || key.endsWith('_id')) return value;
    return ADDRESS_KEYS.has(key.toLowerCase()) ? maskAddress(value) : maskText(value);
  }
  if (Array.isArray(value)) return value.map((v) => maskContacts(v, key));
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    const contact = isContact(value);
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, contact && k === 'name' && typeof v === 'string' ? maskPersonName(v) : maskContacts(v, k)]),
    );
  }
  return value;
}
