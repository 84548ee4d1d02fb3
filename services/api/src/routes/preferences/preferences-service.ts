// The preferences page behind the signed link in every message (`/p/<token>`, see
// packages/core/src/links.ts), and the email confirmation link (`/c/<token>`). The token is the
// only credential: the contact id it names is the one every read and write starts from, so a link
// for one contact can never reach another contact's rows, nor another enterprise's subscriptions.
import { emailConfirmationFromToken, type ReachabilityRule, type Channel, isChannel } from '@policy-push/core';
import {
  type Database,
  type PreferencesContact,
  confirmContactEmail,
  departmentNames,
  enterpriseInbox,
  getContact,
  getPreferencesContact,
  listCategoryChoices,
  listEnterpriseSubscriptions,
  optOutOfEverything,
  setRemindersOff,
  resubscribeChannel,
  subscriptionBelongsTo,
} from '@policy-push/db';
import { ApiError, notFound } from '../../errors';
import { changeSubscription } from '../subscriptions/subscriptions-service';
import { CHANNEL_NAMES, type Notice, type PreferencesView } from './preferences-pages';

/** Everything the page shows; null when the contact is gone. */
export async function loadPreferences(db: Database, contactId: number, reachability: ReachabilityRule): Promise<PreferencesView | null> {
  const contact = await getPreferencesContact(db, contactId);
  if (!contact) return null;
  const subscriptions = await listEnterpriseSubscriptions(db, contact.enterpriseId);
  const subscribed = subscriptions.flatMap((s) => s.categoryIds);
  const [categories, departments, inbox] = await Promise.all([
    listCategoryChoices(db, subscribed),
    departmentNames(db, [...new Set(subscriptions.flatMap((s) => s.departmentIds))]),
    enterpriseInbox(db, contact.enterpriseId, 50),
  ]);
  return { contact, subscriptions, categories, departments, inbox, reachability };
}

/** What the page's forms post (application/x-www-form-urlencoded; a repeated field arrives as an array). */
export interface PreferencesForm {
  action: 'update-subscription' | 'unsubscribe-all' | 'resubscribe-channel' | 'read-policy' | 'set-reminders';
  reminders?: 'on' | 'off';
  subscriptionId?: string;
  policyId?: string;
  categoryId?: string | string[];
  channel?: string | string[];
  frequency?: 'immediate' | 'daily' | 'weekly';
}

export type PreferencesAction =
  | {
      action: 'update-subscription';
      subscriptionId: number;
      categoryIds: string[];
      channels: Channel[];
      frequency: 'immediate' | 'daily' | 'weekly';
    }
  | { action: 'unsubscribe-all' }
  | { action: 'resubscribe-channel'; channel: Channel }
  | { action: 'set-reminders'; off: boolean };

const listOf = (v: string | string[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const malformed = (path: string, message: string) => new ApiError(400, 'invalid_form', message, [{ path, code: 'invalid_form' }]);

/**
 * The action a well-formed form asks for (the route's schema has checked the field types).
 * Throws a 400 for what a form the page rendered cannot send: a missing field, a channel twice.
 */
export function actionOf(form: PreferencesForm): PreferencesAction {
  if (form.action === 'read-policy') throw readPolicyMissing();
  if (form.action === 'unsubscribe-all') return { action: 'unsubscribe-all' };
  if (form.action === 'set-reminders') {
    if (!form.reminders) throw malformed('reminders', 'set-reminders needs reminders (on or off)');
    return { action: 'set-reminders', off: form.reminders === 'off' };
  }
  if (form.action === 'resubscribe-channel') {
    const [channel, ...more] = listOf(form.channel);
    if (!isChannel(channel) || more.length) throw malformed('channel', 'resubscribe-channel takes one channel');
    return { action: 'resubscribe-channel', channel };
  }
  if (!form.subscriptionId) throw malformed('subscriptionId', 'update-subscription needs subscriptionId');
  if (!form.frequency) throw malformed('frequency', 'update-subscription needs frequency');
  // The page offers three ordered choices, each possibly empty ("—"): the order is the channel
  // order, the empty ones drop out. A channel chosen twice is refused, as the subscriptions API
  // refuses duplicate channels.
  const channels = listOf(form.channel).filter((c) => c !== '') as Channel[];
  if (new Set(channels).size !== channels.length) {
    throw new ApiError(400, 'duplicate_channel', 'each channel may be chosen once', [{ path: 'channel', code: 'duplicate_channel' }]);
  }
  const categoryIds = [...new Set(listOf(form.categoryId))];
  return { action: 'update-subscription', subscriptionId: Number(form.subscriptionId), categoryIds, channels, frequency: form.frequency };
}

/** read-policy without the policy (the route handles read-policy itself). */
export const readPolicyMissing = () => malformed('policyId', 'read-policy needs policyId');

/** Carries the action out for this contact; throws ApiError (404, 422) when it cannot, having written nothing. */
export async function applyAction(db: Database, contact: PreferencesContact, a: PreferencesAction): Promise<Notice> {
  switch (a.action) {
    case 'update-subscription': {
      // The subscription must be one of the contact's own enterprise's. A subscription never
      // changes enterprise (the API's PATCH does not take one), so this check cannot go stale
      // before the write; changeSubscription then locks the row and applies the API's own checks
      // (at least one category or department, every category known).
      if (!(await subscriptionBelongsTo(db, a.subscriptionId, contact.enterpriseId))) throw notFound('subscription');
      await changeSubscription(db, a.subscriptionId, { categoryIds: a.categoryIds, channels: a.channels, frequency: a.frequency });
      return { kind: 'done', text: { zh: '订阅已保存。', en: 'Subscription saved.' } };
    }
    case 'unsubscribe-all':
      await optOutOfEverything(db, contact.id);
      return {
        kind: 'done',
        text: {
          zh: '您已退订全部渠道，将不再收到政策推送。',
          en: 'You are unsubscribed from every channel and will get no more policy notifications.',
        },
      };
    case 'set-reminders':
      await setRemindersOff(db, contact.id, a.off);
      return {
        kind: 'done',
        text: a.off
          ? { zh: '已关闭提醒：您将不再收到截止日期前的提醒。', en: 'Reminders are off: you will get no reminders before deadlines.' }
          : { zh: '已开启提醒。', en: 'Reminders are on.' },
      };
    case 'resubscribe-channel': {
      await resubscribeChannel(db, contact.id, a.channel);
      const name = CHANNEL_NAMES[a.channel];
      return {
        kind: 'done',
        text: { zh: `您将重新通过${name.zh}收到政策推送。`, en: `You will get policy notifications by ${name.en} again.` },
      };
    }
  }
}

/** What a refusal says on the page, by its code. */
export function problemNotice(err: ApiError): Notice {
  const text = PROBLEMS[err.code] ?? PROBLEMS.invalid_form;
  return { kind: 'problem', code: err.code, text };
}

const PROBLEMS: Record<string, { zh: string; en: string }> = {
  empty_subscription: {
    zh: '未保存：请至少选择一个政策类别。',
    en: 'Not saved: choose at least one category.',
  },
  unknown_category: {
    zh: '未保存：所选类别已不存在，请刷新页面后重试。',
    en: 'Not saved: a category you chose no longer exists. Reload the page and try again.',
  },
  duplicate_channel: { zh: '未保存：每个渠道只能选择一次。', en: 'Not saved: choose each channel only once.' },
  not_found: { zh: '找不到：这个订阅或政策不在您的页面中。', en: 'Not found: this subscription or policy is not on your page.' },
  invalid_form: { zh: '未保存：无法识别提交的内容。', en: 'Not saved: the form could not be read.' },
};

export type EmailConfirmation =
  { outcome: 'invalid' } | { outcome: 'gone' } | { outcome: 'confirmed'; contactId: number; at: Date; justNow: boolean };

/**
 * Confirms the contact's email address, once. The link names the address it was sent to: when
 * the contact's email has changed since, the link is refused and nothing is written.
 */
export async function confirmEmail(db: Database, signingSecret: string, token: string, now = new Date()): Promise<EmailConfirmation> {
  const confirmation = emailConfirmationFromToken(signingSecret, token, now);
  if (!confirmation) return { outcome: 'invalid' };
  const contact = await getContact(db, confirmation.contactId);
  if (!contact) return { outcome: 'gone' };
  if (!confirmation.confirms(contact.email)) return { outcome: 'invalid' };
  const justNow = await confirmContactEmail(db, contact.id);
  const at = justNow ? now : (contact.emailConfirmedAt ?? now);
  return { outcome: 'confirmed', contactId: contact.id, at, justNow };
}
