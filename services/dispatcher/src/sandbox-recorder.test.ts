import type { SandboxRecord } from '@policy-push/channels';
import type { Database } from '@policy-push/db';
import { sandboxMessages } from '@policy-push/db';
import { createTestDb, type TestDb } from '@policy-push/testkit';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createSandboxRecorder } from './sandbox-recorder';

let testDb: TestDb;
beforeAll(async () => {
  testDb = await createTestDb();
});
afterAll(async () => {
  await testDb?.drop();
});

/** The database, counting inserts and the rows of each. */
function countingInserts(db: Database) {
  const batches: number[] = [];
  const wrapped = new Proxy(db, {
    get(target, prop) {
      if (prop === 'insert') {
        return (table: typeof sandboxMessages) => {
          const builder = target.insert(table);
          const values = builder.values.bind(builder);
          (builder as { values: unknown }).values = (rows: unknown[]) => {
            batches.push(rows.length);
            return values(rows as never);
          };
          return builder;
        };
      }
      const value = Reflect.get(target, prop);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { db: wrapped, batches };
}

async function rowsFor(recipient: string) {
  const rows = await testDb.db.select().from(sandboxMessages);
  return rows.filter((r) => r.recipient === recipient).sort((a, b) => a.id - b.id);
}

const entry = (i: number, recipient: string): SandboxRecord => ({
  deliveryId: String(1000 + i),
  channel: 'sms',
  recipient,
  content: { text: `【广州发改】消息 ${i}`, segments: 1 },
  outcome: 'accepted',
});

describe('createSandboxRecorder', () => {
  it('writes buffered entries on flush', async () => {
    const recorder = createSandboxRecorder(testDb.db, { flushMs: 60_000 });
    recorder.record(entry(1, '+12025550101'));
    recorder.record({
      ...entry(2, '+12025550101'),
      channel: 'wechat',
      outcome: 'retryable',
      content: { data: { thing1: { value: '"引号" & <b>' } } },
    });
    expect(await rowsFor('+12025550101')).toEqual([]);
    await recorder.flush();
    const rows = await rowsFor('+12025550101');
    expect(rows.map((r) => ({ deliveryId: r.deliveryId, channel: r.channel, outcome: r.outcome, content: r.content }))).toEqual([
      { deliveryId: 1001, channel: 'sms', outcome: 'accepted', content: { text: '【广州发改】消息 1', segments: 1 } },
      { deliveryId: 1002, channel: 'wechat', outcome: 'retryable', content: { data: { thing1: { value: '"引号" & <b>' } } } },
    ]);
    expect(rows[0].createdAt).toBeInstanceOf(Date);
    await recorder.close();
  });

  it('writes 1,200 entries in 3 inserts of at most 500 rows', async () => {
    const { db, batches } = countingInserts(testDb.db);
    const recorder = createSandboxRecorder(db);
    for (let i = 0; i < 1200; i++) recorder.record(entry(i, '+12025550102'));
    await recorder.flush();
    expect(batches).toEqual([500, 500, 200]);
    expect(await rowsFor('+12025550102')).toHaveLength(1200);
    await recorder.close();
  });

  it('writes on its own after flushMs', async () => {
    const { db, batches } = countingInserts(testDb.db);
    const recorder = createSandboxRecorder(db, { flushMs: 5 });
    recorder.record(entry(1, '+12025550103'));
    recorder.record(entry(2, '+12025550103'));
    await vi.waitFor(async () => expect(await rowsFor('+12025550103')).toHaveLength(2));
    expect(batches).toEqual([2]);
    await recorder.close();
  });

  it('close writes what is left, then refuses more', async () => {
    const onError = vi.fn();
    const recorder = createSandboxRecorder(testDb.db, { flushMs: 60_000, onError });
    recorder.record(entry(1, '+12025550104'));
    await recorder.close();
    expect(await rowsFor('+12025550104')).toHaveLength(1);
    recorder.record(entry(2, '+12025550104'));
    expect(onError).toHaveBeenCalledTimes(1);
    await recorder.flush();
    expect(await rowsFor('+12025550104')).toHaveLength(1);
  });

  it('reports a failed insert through onError and never throws', async () => {
    const failing = {
      insert: () => ({
        values: async () => {
          throw new Error('connection lost');
        },
      }),
    } as unknown as Database;
    const onError = vi.fn();
    const recorder = createSandboxRecorder(failing, { maxBatch: 2, onError });
    expect(() => [1, 2, 3].forEach((i) => recorder.record(entry(i, '+12025550105')))).not.toThrow();
    await expect(recorder.flush()).resolves.toBeUndefined();
    expect(onError).toHaveBeenCalledTimes(2);
    expect(onError.mock.calls.map(([err, lost]) => [(err as Error).message, lost])).toEqual([
      ['connection lost', 2],
      ['connection lost', 1],
    ]);
  });

  it('reports an entry whose delivery id cannot be stored', async () => {
    const onError = vi.fn();
    const recorder = createSandboxRecorder(testDb.db, { onError });
    recorder.record({ ...entry(1, '+12025550106'), deliveryId: 'not-a-number' });
    await recorder.close();
    expect(onError).toHaveBeenCalledTimes(1);
    expect(await rowsFor('+12025550106')).toEqual([]);
  });
});
