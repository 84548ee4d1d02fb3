// Stopping and starting the local PostgreSQL cluster (Debian's pg_ctlcluster, as root) for the
// scenarios that take the database away. Every test that stops it must call ensureRunning() in a
// finally/afterAll: other test runs on this machine share the server.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import { testDatabaseUrl } from '@policy-push/testkit';

const run = promisify(execFile);
const CLUSTER = 'main';

function version(): string | null {
  if (!existsSync('/etc/postgresql')) return null;
  return readdirSync('/etc/postgresql').sort().at(-1) ?? null;
}

/** True when the test database is the local cluster and this process may stop and start it. */
export function canControlPostgres(): boolean {
  const url = testDatabaseUrl();
  if (!url || !version() || process.getuid?.() !== 0) return false;
  const host = new URL(url).hostname;
  return host === '127.0.0.1' || host === 'localhost';
}

async function ctl(action: 'start' | 'stop' | 'restart'): Promise<void> {
  // pg_ctlcluster stops in fast mode: sessions are ended at once (57P01), as in an operator's restart.
  const args = ['--skip-systemctl-redirect', version()!, CLUSTER, action];
  await run('pg_ctlcluster', args, { timeout: 60_000 });
}

export async function isReady(): Promise<boolean> {
  try {
    await run('pg_isready', ['-h', '127.0.0.1', '-p', '5432', '-q'], { timeout: 5_000 });
    return true;
  } catch {
    return false;
  }
}

async function untilReady(timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await isReady())) {
    if (Date.now() > until) throw new Error('PostgreSQL did not come back');
    await new Promise((r) => setTimeout(r, 200));
  }
}

export const stopPostgres = () => ctl('stop');

export async function startPostgres(): Promise<void> {
  if (!(await isReady())) await ctl('start').catch(() => {}); // "already running" is fine
  await untilReady();
}

export async function restartPostgres(): Promise<void> {
  await ctl('restart');
  await untilReady();
}

/** For finally/afterAll: PostgreSQL left running whatever happened. */
export async function ensurePostgresRunning(): Promise<void> {
  if (await isReady()) return;
  await startPostgres();
}
