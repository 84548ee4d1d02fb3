import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, safeError } from './logger';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { logger: createLogger({ level: 'info' }, stream), text: () => lines.join('') };
}

describe('logger', () => {
  it('redacts phones, emails, openids and keys, at the top level and one level down', () => {
    const { logger, text } = capture();
    logger.info({ phone: '+8613800138000', contact: { email: 'boss@example.com', wechatOpenid: 'oABC123456' }, apiKey: 'pp_secret' }, 'x');
    logger.info({ req: { headers: { authorization: 'Bearer pp_secret_key' } } }, 'y');
    const out = text();
    for (const secret of ['13800138000', 'boss@example.com', 'oABC123456', 'pp_secret']) expect(out).not.toContain(secret);
    expect(out).toContain('[redacted]');
  });

  it('keeps query parameters out of logged database errors', () => {
    const err = new Error('Failed query: insert into contacts (phone) values ($1)\nparams: +8613800138000');
    const safe = safeError(Object.assign(err, { code: '23505' }));
    expect(JSON.stringify(safe)).not.toContain('13800138000');
    expect(safe.code).toBe('23505');
  });
});
