import { mkdtempSync, rmSync, statSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startHeartbeat } from './heartbeat';

const dirs: string[] = [];
const tempFile = () => {
  const dir = mkdtempSync(join(tmpdir(), 'heartbeat-'));
  dirs.push(dir);
  return join(dir, 'alive');
};
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('dispatcher heartbeat', () => {
  it('creates the file at once and keeps its time fresh while the database answers', async () => {
    const file = tempFile();
    const hb = startHeartbeat(file, async () => 1, 20);
    await wait(5);
    expect(statSync(file).isFile()).toBe(true);
    utimesSync(file, new Date(0), new Date(0));
    await wait(60);
    hb.stop();
    expect(Date.now() - statSync(file).mtimeMs).toBeLessThan(1_000);
  });

  it('lets the file age while the database does not answer, so the health check fails', async () => {
    const file = tempFile();
    let up = true;
    const hb = startHeartbeat(
      file,
      async () => {
        if (!up) throw new Error('connection refused');
      },
      20,
    );
    await wait(5);
    up = false;
    utimesSync(file, new Date(0), new Date(0));
    await wait(60);
    hb.stop();
    expect(statSync(file).mtimeMs).toBe(0);
  });
});
