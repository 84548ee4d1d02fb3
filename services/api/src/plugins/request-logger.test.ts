import { Writable } from 'node:stream';
import { createLogger } from '@policy-push/core';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import { describe, expect, it, vi } from 'vitest';
import { requestLogger } from './request-logger';

function logged(level: string) {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { logger: createLogger({ level }, sink) as FastifyBaseLogger, lines };
}

async function appLogging(logger: FastifyBaseLogger, route: (log: FastifyBaseLogger) => void) {
  const app = Fastify({ loggerInstance: logger, childLoggerFactory: requestLogger, disableRequestLogging: true });
  app.get('/', async (req) => {
    route(req.log);
    return { ok: true };
  });
  await app.ready();
  return app;
}

describe('the request logger', () => {
  it("writes a request's lines with its id, redacted as the parent's", async () => {
    const { logger, lines } = logged('info');
    const app = await appLogging(logger, (log) => log.info({ phone: '+8613912340001', n: 1 }, 'hello'));
    await app.inject({ url: '/' });
    await app.inject({ url: '/' });
    expect(lines.map((l) => [l.reqId, l.msg, l.phone, l.n])).toEqual([
      ['req-1', 'hello', '[redacted]', 1],
      ['req-2', 'hello', '[redacted]', 1],
    ]);
    await app.close();
  });

  it('makes no child for a request whose lines are below the level', async () => {
    const { logger, lines } = logged('warn');
    const app = await appLogging(logger, (log) => (log.info('not written'), log.debug('nor this')));
    const warned = await appLogging(logger, (log) => log.warn('written'));
    const child = vi.spyOn(logger, 'child');
    await app.inject({ url: '/' });
    expect(child).not.toHaveBeenCalled();
    expect(lines).toEqual([]);

    await warned.inject({ url: '/' });
    expect(child).toHaveBeenCalledTimes(1);
    expect(lines.map((l) => [l.reqId, l.msg])).toEqual([['req-1', 'written']]);
    await app.close();
    await warned.close();
  });

  it("takes a route's own level", () => {
    const { logger, lines } = logged('warn');
    const log = requestLogger(logger, { reqId: 'r' }, { level: 'debug' });
    expect(log.level).toBe('debug');
    log.debug('written');
    expect(lines.map((l) => [l.reqId, l.msg])).toEqual([['r', 'written']]);
  });

  it("follows the parent's level until it writes, and its own after", () => {
    const { logger, lines } = logged('warn');
    const log = requestLogger(logger, { reqId: 'r' }, {});
    expect(log.level).toBe('warn');
    logger.level = 'info';
    log.info('now written');
    log.level = 'error';
    log.warn('not written');
    expect(logger.level).toBe('info');
    expect(log.child({ step: 2 }).level).toBe('error');
    expect(lines.map((l) => [l.reqId, l.msg])).toEqual([['r', 'now written']]);
  });
});
