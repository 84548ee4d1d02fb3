// Provider error codes in plain words, Chinese and English, for the people reading a failure (the
// console's policy page and delivery log). The one table of them: the adapters record the codes
// (twilio-sms.ts, wechat-template.ts, smtp-errors.ts, sandbox/magic-recipients.ts), this says what
// each means to someone who has to decide what to fix.
import type { Channel } from './channel';
import { SANDBOX_CODES } from './sandbox/magic-recipients';

export interface Explanation {
  zh: string;
  en: string;
}

const ANY: Record<string, Explanation> = {
  unknown: { zh: '服务商未给出原因', en: 'the provider gave no reason' },
  TIMEOUT: { zh: '服务商超时未应答', en: 'the provider did not answer in time' },
  NETWORK_ERROR: { zh: '无法连接服务商', en: 'the provider could not be reached' },
  BAD_RESPONSE: { zh: '服务商应答无法识别', en: 'the provider answered something unreadable' },
  INVALID_MESSAGE: { zh: '消息内容不合规格（过长或缺字段）', en: 'the message broke the format (too long or a field missing)' },
  [SANDBOX_CODES.temporary]: { zh: '沙箱：模拟暂时失败', en: 'sandbox: simulated temporary failure' },
  [SANDBOX_CODES.permanent]: { zh: '沙箱：模拟永久失败', en: 'sandbox: simulated permanent failure' },
  [SANDBOX_CODES.optedOut]: { zh: '沙箱：模拟收件人退订', en: 'sandbox: simulated opt-out' },
  [SANDBOX_CODES.undelivered]: { zh: '沙箱：模拟未送达回执', en: 'sandbox: simulated undelivered receipt' },
  [SANDBOX_CODES.invalidMessage]: { zh: '沙箱：消息不合规格', en: 'sandbox: message broke the format' },
};

const BY_CHANNEL: Record<Channel, Record<string, Explanation>> = {
  sms: {
    '21211': { zh: '手机号码无效', en: 'not a valid phone number' },
    '21610': { zh: '收件人已回复退订', en: 'the recipient replied STOP (opted out)' },
    '21614': { zh: '号码不是手机号', en: 'the number is not a mobile' },
    '30003': { zh: '手机无法接通（关机或无信号）', en: 'handset unreachable (off or no signal)' },
    '30004': { zh: '号码拒收短信', en: 'the number blocks messages' },
    '30005': { zh: '号码不存在', en: 'unknown number' },
    '30006': { zh: '固定电话，无法接收短信', en: 'a landline: cannot take SMS' },
    '30007': { zh: '被运营商拦截（疑似垃圾短信）', en: 'filtered by the carrier as spam' },
    '30008': { zh: '运营商未说明的错误', en: 'unknown carrier error' },
    '20003': { zh: '短信服务商认证失败，请检查配置', en: 'SMS provider credentials rejected: check the configuration' },
  },
  wechat: {
    user_block: { zh: '用户已拒收公众号消息', en: 'the user blocked the account’s messages' },
    system_failed: { zh: '微信系统故障，未送达', en: 'WeChat system failure: not delivered' },
    freq_limit: { zh: '超出微信发送频率限制', en: 'over WeChat’s frequency limit' },
    NO_TEMPLATE: { zh: '部门未配置微信模板', en: 'the department has no WeChat template' },
    TOKEN_UNAVAILABLE: { zh: '无法取得微信访问令牌', en: 'no WeChat access token' },
    '43004': { zh: '用户未关注公众号', en: 'the user does not follow the account' },
    '43101': { zh: '用户拒收订阅消息', en: 'the user refused subscription messages' },
    '40003': { zh: 'openid 无效', en: 'not a valid openid' },
    '40037': { zh: '模板编号无效', en: 'not a valid template id' },
    '45009': { zh: '超出接口每日调用上限', en: 'over the daily API quota' },
  },
  email: {
    EENVELOPE: { zh: '邮件服务器拒收所有收件人', en: 'the mail server refused every recipient' },
    EMESSAGE: { zh: '邮件内容无法发送', en: 'the message could not be sent' },
    ECONNECTION: { zh: '无法连接邮件服务器', en: 'could not connect to the mail server' },
    EAUTH: { zh: '邮件服务器认证失败，请检查配置', en: 'mail server credentials rejected: check the configuration' },
    bounce: { zh: '邮件被退回', en: 'the email bounced' },
  },
};

// SMTP_550_5.1.1 → the reply's class: 5.1.x is the address, 5.2.x the mailbox, 5.7.x policy.
const SMTP: [RegExp, Explanation][] = [
  [/^SMTP_5\d\d_5\.1\./, { zh: '邮箱地址不存在', en: 'no such mailbox address' }],
  [/^SMTP_5\d\d_5\.2\./, { zh: '收件箱已满或不可用', en: 'mailbox full or unavailable' }],
  [/^SMTP_5\d\d_5\.7\./, { zh: '被收件方服务器拦截', en: 'blocked by the receiving server' }],
  [/^SMTP_4\d\d/, { zh: '邮件服务器暂时拒收', en: 'the mail server refused for now' }],
  [/^SMTP_5\d\d/, { zh: '邮件服务器永久拒收', en: 'the mail server refused permanently' }],
];

/** What a failure's error code means, in plain words; the code itself when nothing is known of it. */
export function explainErrorCode(channel: string, code: string): Explanation & { known: boolean } {
  const found = BY_CHANNEL[channel as Channel]?.[code] ?? ANY[code] ?? SMTP.find(([re]) => channel === 'email' && re.test(code))?.[1];
  if (found) return { ...found, known: true };
  if (/^HTTP_5\d\d$/.test(code)) return { zh: '服务商内部错误', en: 'provider server error', known: true };
  return { zh: `未知错误代码 ${code}`, en: `unknown error code ${code}`, known: false };
}
