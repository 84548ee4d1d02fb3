// Magic recipients: addresses that make a sandbox adapter simulate one provider outcome, so
// anyone (tests, demos, ops rehearsals) can exercise retries, failures, opt-outs and fallbacks
// without a real provider. This table is the single source: README.md shows its rendering
// (`renderMagicTable()`), and a test keeps the two equal.
import type { Channel } from '../channel';

export type MagicOutcome = 'accepted' | 'temporary' | 'flaky' | 'permanent' | 'opted-out' | 'slow' | 'undelivered';
export type Outcome = MagicOutcome;

export interface MagicRecipient {
  outcome: MagicOutcome;
  /** What the sandbox answers, in words. */
  behaviour: string;
  /** Result code when the send is refused; the receipt's errorCode for `undelivered`. */
  code?: string;
  sms: string;
  email: string;
  wechat: string;
}

export const SANDBOX_CODES = {
  temporary: 'SANDBOX_TEMPORARY',
  permanent: 'SANDBOX_PERMANENT',
  optedOut: 'SANDBOX_OPTED_OUT',
  undelivered: 'SANDBOX_UNDELIVERED',
  invalidMessage: 'SANDBOX_INVALID_MESSAGE',
} as const;

// Phones are in the North American 555-0100–0199 range, reserved for fiction and never assigned,
// so a sandbox number that leaks into a real send reaches no real person. (Ofcom's drama range
// would be the natural choice, but libphonenumber rejects it, so the API could not store it.)
export const SANDBOX_PHONE_PREFIX = '+12025550';

export const MAGIC_RECIPIENTS: readonly MagicRecipient[] = [
  {
    outcome: 'accepted',
    behaviour: 'accepted, then a `delivered` receipt',
    sms: 'any other number, e.g. `+12025550150`',
    email: 'any other address, e.g. `someone@example.com`',
    wechat: 'any other openid',
  },
  {
    outcome: 'temporary',
    behaviour: 'always retryable',
    code: SANDBOX_CODES.temporary,
    sms: '+12025550101',
    email: 'temporary@sandbox.invalid',
    wechat: 'sandbox-temporary',
  },
  {
    outcome: 'flaky',
    behaviour: 'retryable on the first send of a delivery id in this process, accepted (then `delivered`) afterwards',
    code: SANDBOX_CODES.temporary,
    sms: '+12025550102',
    email: 'flaky@sandbox.invalid',
    wechat: 'sandbox-flaky',
  },
  {
    outcome: 'permanent',
    behaviour: 'permanent',
    code: SANDBOX_CODES.permanent,
    sms: '+12025550103',
    email: 'permanent@sandbox.invalid',
    wechat: 'sandbox-permanent',
  },
  {
    outcome: 'opted-out',
    behaviour: 'permanent with `optOut: true` (the recipient refused the channel)',
    code: SANDBOX_CODES.optedOut,
    sms: '+12025550104',
    email: 'opted-out@sandbox.invalid',
    wechat: 'sandbox-opted-out',
  },
  {
    outcome: 'slow',
    behaviour: 'accepted after a delay (2 s unless `slowMs` says otherwise), then `delivered`',
    sms: '+12025550105',
    email: 'slow@sandbox.invalid',
    wechat: 'sandbox-slow',
  },
  {
    outcome: 'undelivered',
    behaviour: 'accepted, then an `undelivered` receipt',
    code: SANDBOX_CODES.undelivered,
    sms: '+12025550106',
    email: 'undelivered@sandbox.invalid',
    wechat: 'sandbox-undelivered',
  },
];

const SPECIAL = MAGIC_RECIPIENTS.filter((r) => r.outcome !== 'accepted');
const BY_PHONE = new Map(SPECIAL.map((r) => [r.sms, r.outcome]));
const BY_NAME = new Map(SPECIAL.map((r) => [r.outcome as string, r.outcome]));

// Reserved for documentation by RFC 2606 / RFC 6761: no mailbox there belongs to anyone.
const SANDBOX_EMAIL_DOMAIN = /(^|\.)(example\.com|example\.org)$|\.invalid$|^invalid$/;

/** The outcome a sandbox adapter simulates for this recipient; `accepted` for any other. */
export function magicOutcome(channel: Channel, to: string): MagicOutcome {
  const address = to.trim();
  switch (channel) {
    case 'sms':
      return BY_PHONE.get(address) ?? 'accepted';
    case 'email': {
      const at = address.lastIndexOf('@');
      if (at <= 0) return 'accepted';
      const domain = address.slice(at + 1).toLowerCase();
      if (!SANDBOX_EMAIL_DOMAIN.test(domain)) return 'accepted';
      return BY_NAME.get(address.slice(0, at).toLowerCase()) ?? 'accepted';
    }
    case 'wechat':
      return address.startsWith('sandbox-') ? (BY_NAME.get(address.slice('sandbox-'.length)) ?? 'accepted') : 'accepted';
  }
}

/** The magic table as Markdown, as README.md shows it. */
export function renderMagicTable(): string {
  const rows = MAGIC_RECIPIENTS.map((r) =>
    [`\`${r.outcome}\``, r.behaviour, r.code ? `\`${r.code}\`` : '', cell(r.sms), cell(r.email), cell(r.wechat)].join(' | '),
  );
  return [
    '| outcome | sandbox answers | code | sms | email | wechat openid |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows.map((row) => `| ${row} |`),
  ].join('\n');
}

// Plain addresses get code formatting; prose ("any other …") already carries its own.
const cell = (s: string) => (s.includes(' ') ? s : `\`${s}\``);
