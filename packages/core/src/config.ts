// The one place where settings are read: parsed and checked once at start, then passed down.
// No other module reads process.env. A bad value stops the start, naming the variable.

import { isIP } from 'node:net';
import type { Channel } from './channels';

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable}: ${problem}`);
  }
}

export interface Config {
  host: string;
  port: number;
  publicBaseUrl: string;
  trustProxy: TrustProxy;
  /** Real Postgres when set; otherwise the embedded PGlite in dataDir. */
  databaseUrl?: string;
  dataDir: string;
  dbPoolSize: number;
  logLevel: string;
  logPretty: boolean;
  adminApiKey?: string;
  /** How long an API process trusts a key it verified (0 = never): see services/api-keys.ts. */
  apiKeyCacheSeconds: number;
  demoData: 'auto' | 'yes' | 'no';
  dispatcher: DispatcherSettings;
  smsSegmentBudget: number;
  /** HMAC key for signed links (unsubscribe, binding); absent = one kept in the database. */
  signingSecret?: string;
  providers: ProviderSettings;
  limits: LimitSettings;
}

/**
 * Guards against floods and mistakes (README "Limits"). Rate limits count per API process, in
 * memory, over one-minute windows; caps and the large-audience threshold are checked at publish.
 */
export interface LimitSettings {
  /** Requests per minute per verified API key, by its id. */
  perKeyPerMinute: number;
  /** Failed sign-ins (no key, a wrong key; /v1 and /ops/login) per client address before it must wait. */
  failedSignInsPerIp: number;
  /** Requests per minute per client address on the signed-link pages /r/, /u/, /p/, /c/. */
  linksPerIpPerMinute: number;
  /** Requests per minute per client address on the provider webhooks. */
  webhooksPerIpPerMinute: number;
  /** Messages a department may queue per channel per day (Asia/Shanghai); 0 = no cap. */
  departmentDailyCap: Record<Channel, number>;
  /** A publish reaching more contacts than this needs `confirmLargeAudience: true`; 0 = never. */
  largeAudienceThreshold: number;
}

/** A provider is switched on when its settings are present; otherwise its channel stays sandboxed. */
export interface ProviderSettings {
  timeoutMs: number;
  wechat?: {
    appId: string;
    appSecret: string;
    token: string;
    encodingAesKey?: string;
    apiUrl: string;
    dailyQuota: number;
    perSecond: number;
  };
  twilio?: {
    accountSid: string;
    authToken: string;
    from?: string;
    messagingServiceSid?: string;
    apiUrl?: string;
    segmentsPerSecond: number;
  };
  smtp?: { url: string; from: string; maxConnections: number; perSecond: number };
}

/** The knobs that decide throughput (PERFORMANCE.md P4–P6), kept together. */
export interface DispatcherSettings {
  claimBatchSize: number;
  sendConcurrency: number;
  leaseSeconds: number;
  pollIntervalMs: number;
  fanoutChunkSize: number;
  maxAttempts: Record<Channel, number>;
  retryBaseMs: number;
  retryCapMs: number;
  sweepCron: string;
  scheduleCron: string;
  /** How late a delivery may still go on its channel; past it, a paused channel falls back. */
  deliverByMinutes: { normal: number; urgent: number };
  /** At most this many pushes per address per day across all departments (0 = no cap); the rest wait for the digest. */
  recipientDailyCap: number;
  /** At most this many follow-up reminder steps per policy (REMINDER_MAX_STEPS). */
  reminderMaxSteps: number;
  /** Bulk email only to addresses confirmed by their link (for deployments that ask for it). */
  requireConfirmedEmail: boolean;
  /** SMS and WeChat wait out these hours (Asia/Shanghai) unless urgent; a contact may have its own. */
  quietHours: string;
  /** Consecutive provider failures that open a channel's circuit, and how long it stays open. */
  breaker: { failures: number; cooldownMs: number };
  /** A push with work waiting and no delivery of it moving for this long is reported as stalled (log, metrics, /ops). */
  stalledPushMinutes: number;
  /** A provider failing more than this share of its last 100 sends is reported as unhealthy. */
  providerFailureRate: number;
  /** How long deliveries stay in the outbox, and their archive after them (README "Retention and erasure"). */
  retention: RetentionSettings;
  /** A file the standalone dispatcher touches while it and its database answer, for container health checks. */
  heartbeatFile?: string;
  /** Where the standalone dispatcher serves GET /metrics (on HOST); none when absent. */
  metricsPort?: number;
}

export interface RetentionSettings {
  /** A revoked or expired policy's settled deliveries move to the archive this many days after it ended. */
  days: number;
  /** Archived deliveries are purged this many days after archiving; 0 keeps them for ever. */
  archiveDays: number;
  /** Deliveries moved per short transaction. */
  batchSize: number;
  /** When the archiving job runs (node-cron, with seconds). */
  cron: string;
}

type Env = Record<string, string | undefined>;

/**
 * Which peers may tell us the client's address and scheme (X-Forwarded-For, X-Forwarded-Proto):
 * none (the default: the peer is the client), the last `hops` peers in the chain, or the peers at
 * these addresses or CIDRs (`loopback`, `linklocal` and `uniquelocal` name the usual ranges).
 * Believing a header a client wrote lets it choose the address we audit and rate-limit.
 */
export type TrustProxy = false | { hops: number } | { addresses: string[] };

export function parseConfig(env: Env): Config {
  const host = str(env, 'HOST', '127.0.0.1');
  const port = int(env, 'PORT', 3000, 0, 65535);
  const maxAttempts = int(env, 'MAX_ATTEMPTS', 6, 1, 50);
  return {
    host,
    port,
    publicBaseUrl: url(env, 'PUBLIC_BASE_URL', `http://${host}:${port}`).replace(/\/$/, ''),
    trustProxy: trustProxy(env, 'TRUST_PROXY'),
    databaseUrl: optionalUrl(env, 'DATABASE_URL', ['postgres:', 'postgresql:']),
    dataDir: str(env, 'DATA_DIR', './data'),
    dbPoolSize: int(env, 'DB_POOL_SIZE', 10, 1, 200),
    logLevel: oneOf(env, 'LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
    logPretty: bool(env, 'LOG_PRETTY', false),
    adminApiKey: optionalMatch(
      env,
      'ADMIN_API_KEY',
      /^pp_[A-Za-z0-9_]{24,}$/,
      'must look like pp_ followed by at least 24 letters, digits or _',
    ),
    apiKeyCacheSeconds: int(env, 'API_KEY_CACHE_SECONDS', 5, 0, 300),
    demoData: env.DEMO_DATA === undefined || env.DEMO_DATA === '' ? 'auto' : bool(env, 'DEMO_DATA', false) ? 'yes' : 'no',
    // 3: every SMS carries two signed links (the policy through /r/, the unsubscribe link: no
    // reply reaches us from +86 numbers), about 130 characters together; in 2 segments (134) no
    // title would fit.
    smsSegmentBudget: int(env, 'SMS_SEGMENT_BUDGET', 3, 1, 10),
    signingSecret: optionalMatch(env, 'SIGNING_SECRET', /^.{32,}$/, 'must be at least 32 characters'),
    providers: parseProviders(env),
    limits: {
      perKeyPerMinute: int(env, 'RATE_LIMIT_PER_KEY', 1_200, 1, 1_000_000),
      failedSignInsPerIp: int(env, 'RATE_LIMIT_FAILED_SIGN_INS_PER_IP', 20, 1, 1_000_000),
      linksPerIpPerMinute: int(env, 'RATE_LIMIT_LINKS_PER_IP', 120, 1, 1_000_000),
      webhooksPerIpPerMinute: int(env, 'RATE_LIMIT_WEBHOOKS_PER_IP', 3_000, 1, 1_000_000),
      departmentDailyCap: {
        wechat: int(env, 'DEPARTMENT_DAILY_CAP_WECHAT', 1_000_000, 0, 100_000_000),
        sms: int(env, 'DEPARTMENT_DAILY_CAP_SMS', 100_000, 0, 100_000_000),
        email: int(env, 'DEPARTMENT_DAILY_CAP_EMAIL', 1_000_000, 0, 100_000_000),
      },
      largeAudienceThreshold: int(env, 'LARGE_AUDIENCE_THRESHOLD', 50_000, 0, 100_000_000),
    },
    dispatcher: {
      claimBatchSize: int(env, 'DISPATCH_BATCH_SIZE', 200, 1, 10_000),
      sendConcurrency: int(env, 'DISPATCH_CONCURRENCY', 32, 1, 1_000),
      leaseSeconds: int(env, 'DISPATCH_LEASE_SECONDS', 60, 1, 3_600),
      pollIntervalMs: int(env, 'DISPATCH_POLL_MS', 1_000, 10, 60_000),
      fanoutChunkSize: int(env, 'FANOUT_CHUNK_SIZE', 5_000, 1, 100_000),
      maxAttempts: {
        wechat: int(env, 'MAX_ATTEMPTS_WECHAT', maxAttempts, 1, 50),
        sms: int(env, 'MAX_ATTEMPTS_SMS', maxAttempts, 1, 50),
        email: int(env, 'MAX_ATTEMPTS_EMAIL', maxAttempts, 1, 50),
      },
      retryBaseMs: int(env, 'RETRY_BASE_MS', 5_000, 1, 3_600_000),
      retryCapMs: int(env, 'RETRY_CAP_MS', 3_600_000, 1, 86_400_000),
      sweepCron: str(env, 'SWEEP_CRON', '*/15 * * * * *'),
      scheduleCron: str(env, 'SCHEDULE_CRON', '*/10 * * * * *'),
      deliverByMinutes: {
        normal: int(env, 'DELIVER_BY_MINUTES', 1_440, 1, 43_200),
        urgent: int(env, 'URGENT_DELIVER_BY_MINUTES', 10, 1, 1_440),
      },
      recipientDailyCap: int(env, 'RECIPIENT_DAILY_CAP', 5, 0, 1_000),
      reminderMaxSteps: int(env, 'REMINDER_MAX_STEPS', 3, 0, 10),
      requireConfirmedEmail: bool(env, 'REQUIRE_CONFIRMED_EMAIL', false),
      quietHours:
        optionalMatch(env, 'QUIET_HOURS', /^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$/, 'must look like 22:00-08:00') ??
        '22:00-08:00',
      breaker: {
        failures: int(env, 'BREAKER_FAILURES', 5, 1, 1_000),
        cooldownMs: int(env, 'BREAKER_COOLDOWN_MS', 30_000, 100, 3_600_000),
      },
      stalledPushMinutes: int(env, 'STALLED_PUSH_MINUTES', 10, 1, 1_440),
      providerFailureRate: fraction(env, 'PROVIDER_FAILURE_RATE', 0.2),
      retention: parseRetention(env),
      heartbeatFile: env.DISPATCHER_HEARTBEAT_FILE || undefined,
      metricsPort: env.DISPATCHER_METRICS_PORT ? int(env, 'DISPATCHER_METRICS_PORT', 9464, 1, 65535) : undefined,
    },
  };
}

function parseProviders(env: Env): ProviderSettings {
  const wechat = group(env, ['WECHAT_APP_ID', 'WECHAT_APP_SECRET', 'WECHAT_TOKEN']);
  const twilio = group(env, ['TWILIO_ACCOUNT_SID', 'TWILIO_AUTH_TOKEN']);
  const smtp = group(env, ['SMTP_URL', 'MAIL_FROM']);
  if (twilio && !env.TWILIO_FROM && !env.TWILIO_MESSAGING_SERVICE_SID) {
    throw new ConfigError('TWILIO_FROM', 'set TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID');
  }
  return {
    timeoutMs: int(env, 'PROVIDER_TIMEOUT_MS', 5_000, 100, 60_000),
    wechat: wechat && {
      appId: wechat.WECHAT_APP_ID,
      appSecret: wechat.WECHAT_APP_SECRET,
      token: wechat.WECHAT_TOKEN,
      encodingAesKey: optionalMatch(env, 'WECHAT_ENCODING_AES_KEY', /^[A-Za-z0-9]{43}$/, 'must be the 43-character EncodingAESKey'),
      apiUrl: url(env, 'WECHAT_API_URL', 'https://api.weixin.qq.com').replace(/\/$/, ''),
      dailyQuota: int(env, 'WECHAT_DAILY_QUOTA', 100_000, 1, 100_000_000),
      perSecond: int(env, 'WECHAT_PER_SECOND', 200, 1, 100_000),
    },
    twilio: twilio && {
      accountSid: optionalMatch(env, 'TWILIO_ACCOUNT_SID', /^AC[0-9a-fA-F]{32}$/, 'must be AC followed by 32 hex digits')!,
      authToken: twilio.TWILIO_AUTH_TOKEN,
      from: env.TWILIO_FROM || undefined,
      messagingServiceSid: optionalMatch(
        env,
        'TWILIO_MESSAGING_SERVICE_SID',
        /^MG[0-9a-fA-F]{32}$/,
        'must be MG followed by 32 hex digits',
      ),
      apiUrl: optionalUrl(env, 'TWILIO_API_URL', ['http:', 'https:'])?.replace(/\/$/, ''),
      segmentsPerSecond: int(env, 'SMS_SEGMENTS_PER_SECOND', 10, 1, 100_000),
    },
    smtp: smtp && {
      url: optionalUrl(env, 'SMTP_URL', ['smtp:', 'smtps:'])!,
      from: smtp.MAIL_FROM,
      maxConnections: int(env, 'SMTP_MAX_CONNECTIONS', 5, 1, 100),
      perSecond: int(env, 'SMTP_PER_SECOND', 50, 1, 100_000),
    },
  };
}

function parseRetention(env: Env): RetentionSettings {
  return {
    days: int(env, 'RETENTION_DAYS', 180, 1, 36_500),
    archiveDays: int(env, 'ARCHIVE_RETENTION_DAYS', 0, 0, 36_500),
    batchSize: int(env, 'ARCHIVE_BATCH_SIZE', 5_000, 100, 50_000),
    cron: str(env, 'ARCHIVE_CRON', '0 17 * * * *'),
  };
}

/** All of a provider's required variables, or none: half a configuration is a mistake. */
function group<K extends string>(env: Env, names: K[]): Record<K, string> | undefined {
  const present = names.filter((n) => env[n]);
  if (!present.length) return undefined;
  const missing = names.find((n) => !env[n]);
  if (missing) throw new ConfigError(missing, `is required with ${present.join(', ')}`);
  return Object.fromEntries(names.map((n) => [n, env[n]!])) as Record<K, string>;
}

const PROXY_RANGES = ['loopback', 'linklocal', 'uniquelocal'];

function trustProxy(env: Env, name: string): TrustProxy {
  const v = env[name]?.trim();
  if (v === undefined || v === '' || ['0', 'false', 'no'].includes(v)) return false;
  if (/^\d+$/.test(v)) return { hops: int(env, name, 0, 1, 10) };
  const addresses = v.split(',').map((a) => a.trim());
  for (const a of addresses) {
    if (!PROXY_RANGES.includes(a) && !isAddressOrCidr(a)) {
      throw new ConfigError(
        name,
        `must be a number of proxies (1-10) or a comma-separated list of proxy addresses or CIDRs (or ${PROXY_RANGES.join(', ')}), got "${a}"`,
      );
    }
  }
  return { addresses };
}

function isAddressOrCidr(value: string): boolean {
  const [address, bits, ...rest] = value.split('/');
  const version = isIP(address);
  if (!version || rest.length) return false;
  if (bits === undefined) return true;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (version === 4 ? 32 : 128);
}

function str(env: Env, name: string, fallback: string): string {
  const v = env[name];
  if (v === undefined || v === '') return fallback;
  return v;
}

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const v = env[name];
  if (v === undefined || v === '') return fallback;
  if (!/^-?\d+$/.test(v)) throw new ConfigError(name, `must be a whole number, got "${v}"`);
  const n = Number(v);
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

/** A share between 0 and 1 exclusive, such as 0.2: 0 would flag every failure, 1 none. */
function fraction(env: Env, name: string, fallback: number): number {
  const v = env[name];
  if (v === undefined || v === '') return fallback;
  if (!/^(0?\.\d+|0|1(\.0+)?)$/.test(v)) throw new ConfigError(name, `must be a number between 0 and 1 such as 0.2, got "${v}"`);
  const n = Number(v);
  if (n <= 0 || n >= 1) throw new ConfigError(name, `must be more than 0 and less than 1, got ${n}`);
  return n;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const v = env[name];
  if (v === undefined || v === '') return fallback;
  if (['1', 'true', 'yes'].includes(v)) return true;
  if (['0', 'false', 'no'].includes(v)) return false;
  throw new ConfigError(name, `must be 1/0, true/false or yes/no, got "${v}"`);
}

function oneOf<T extends string>(env: Env, name: string, values: T[], fallback: T): T {
  const v = env[name];
  if (v === undefined || v === '') return fallback;
  if (!values.includes(v as T)) throw new ConfigError(name, `must be one of ${values.join(', ')}, got "${v}"`);
  return v as T;
}

function url(env: Env, name: string, fallback: string): string {
  return optionalUrl(env, name, ['http:', 'https:']) ?? fallback;
}

function optionalUrl(env: Env, name: string, protocols: string[]): string | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  let parsed: URL;
  try {
    parsed = new URL(v);
  } catch {
    throw new ConfigError(name, 'is not a valid URL');
  }
  if (!protocols.includes(parsed.protocol)) throw new ConfigError(name, `must start with ${protocols.join(' or ')}`);
  return v;
}

function optionalMatch(env: Env, name: string, pattern: RegExp, problem: string): string | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  if (!pattern.test(v)) throw new ConfigError(name, problem);
  return v;
}
