import pino, { type Logger } from 'pino';

export type { Logger };

// Personal data and secrets never reach the log: phones, emails, openids, keys, tokens.
// Paths cover request logs, our own fields, and nested objects one level down.
const SECRET_KEYS = [
  'phone',
  'email',
  'wechatOpenid',
  'openid',
  'to',
  'recipient',
  'apiKey',
  'secret',
  'token',
  'accessToken',
  'password',
  'authToken',
];
export const redactPaths = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["idempotency-key"]',
  ...SECRET_KEYS,
  ...SECRET_KEYS.map((k) => `*.${k}`),
];

export function createLogger(opts: { level: string; pretty?: boolean; name?: string }, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      name: opts.name ?? 'policy-push',
      level: opts.level,
      redact: { paths: redactPaths, censor: '[redacted]' },
      // Database errors carry query parameters (phones, emails): keep only what is safe. Request
      // logs name the path without its query string, which can hold a phone or an email
      // (/v1/deliveries?q=…) or a webhook's openid.
      serializers: { err: safeError, req: requestWithoutQuery },
      ...(opts.pretty && !destination ? { transport: { target: 'pino-pretty' } } : {}),
    },
    destination,
  );
}

interface LoggedRequest {
  method?: string;
  url?: string;
  host?: string;
  ip?: string;
}

/** A request for the log: method, path (no query string), host and client address. */
export function requestWithoutQuery(req: LoggedRequest): Record<string, unknown> {
  return { method: req.method, url: req.url?.split('?')[0], host: req.host, remoteAddress: req.ip };
}

/** An error's name, message, code and stack, without the driver's parameters or query text. */
export function safeError(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { message: String(err) };
  const e = err as Error & { code?: unknown; cause?: unknown };
  const out: Record<string, unknown> = { type: e.name, message: scrub(e.message), stack: scrub(e.stack ?? '') };
  if (e.code !== undefined) out.code = e.code;
  if (e.cause) out.cause = safeError(e.cause);
  return out;
}

// drizzle puts "Failed query: … params: …" into its messages; the params are personal data.
function scrub(text: string): string {
  return text.replace(/params:.*$/gms, 'params: [redacted]');
}
