// The one place where settings are read: parsed and checked once at start, then passed down.
// No other module reads process.env. A bad value stops the start, naming the variable.

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
  /** Real Postgres when set; otherwise the embedded PGlite in dataDir. */
  databaseUrl?: string;
  dataDir: string;
  dbPoolSize: number;
  logLevel: string;
  logPretty: boolean;
  adminApiKey?: string;
  demoData: 'auto' | 'yes' | 'no';
  dispatcher: DispatcherSettings;
  smsSegmentBudget: number;
}

/** The knobs that decide throughput (PERFORMANCE.md P4–P6), kept together. */
export interface DispatcherSettings {
  claimBatchSize: number;
  sendConcurrency: number;
  leaseSeconds: number;
  pollIntervalMs: number;
  fanoutChunkSize: number;
  maxAttempts: { wechat: number; sms: number; email: number };
  retryBaseMs: number;
  retryCapMs: number;
  sweepCron: string;
  scheduleCron: string;
}

type Env = Record<string, string | undefined>;

export function parseConfig(env: Env): Config {
  const host = str(env, 'HOST', '127.0.0.1');
  const port = int(env, 'PORT', 3000, 0, 65535);
  const maxAttempts = int(env, 'MAX_ATTEMPTS', 6, 1, 50);
  return {
    host,
    port,
    publicBaseUrl: url(env, 'PUBLIC_BASE_URL', `http://${host}:${port}`).replace(/\/$/, ''),
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
    demoData: env.DEMO_DATA === undefined || env.DEMO_DATA === '' ? 'auto' : bool(env, 'DEMO_DATA', false) ? 'yes' : 'no',
    smsSegmentBudget: int(env, 'SMS_SEGMENT_BUDGET', 2, 1, 10),
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
    },
  };
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
