// Child processes for the benchmarks and fault tests: the service's own entry points run with
// `node --import tsx` (not the tsx wrapper), so the pid we hold is the process doing the work —
// what `kill -9` must hit and whose resident memory we sample.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface ServiceProcess {
  child: ChildProcess;
  pid: number;
  /** stderr and stdout so far, for a failure message. */
  output(): string;
  /** SIGTERM and wait (SIGKILL after 10 s). */
  stop(): Promise<void>;
  kill9(): Promise<void>;
}

/**
 * The node options each service is deployed with (docker-compose.yml, infra/k8s; kept equal by
 * services/api/test/deployment-files.test.ts), so that what is measured is what runs. The
 * dispatcher's heap is capped: under a push V8 otherwise lets garbage grow it past 300 MiB, and
 * the cap costs it no throughput (docs/BENCHMARKS.md, P10). The API's too: under P8 its old
 * generation filled with dead requests (heap 155 MiB, 56 MiB of it live, RSS 355 MiB), since V8
 * sees a 4 GiB limit and no reason to collect; capped, it collects them and stays near 240 MiB.
 */
export const DEPLOYED_NODE_OPTIONS: Record<string, string> = {
  'services/api/src/server.ts': '--max-old-space-size=160',
  'services/dispatcher/src/main.ts': '--max-old-space-size=192',
};

export function startService(entry: string, env: Record<string, string>, args: string[] = []): ServiceProcess {
  const nodeArgs = [...(DEPLOYED_NODE_OPTIONS[entry]?.split(' ') ?? []), ...(process.env.BENCH_NODE_ARGS?.split(' ') ?? [])];
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', entry, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (b: Buffer) => (out = (out + b.toString()).slice(-20_000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  return {
    child,
    pid: child.pid!,
    output: () => out,
    async stop() {
      if (gone()) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
    async kill9() {
      if (gone()) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Resident set size in MiB, from /proc (Linux); null when the process is gone. */
export function rssMiB(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** Samples RSS every `everyMs` until stopped; answers the samples. */
export function sampleRss(pids: () => number[], everyMs = 250): { stop(): number[] } {
  const samples: number[] = [];
  const timer = setInterval(() => {
    for (const pid of pids()) {
      const v = rssMiB(pid);
      if (v !== null) samples.push(v);
    }
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      return samples;
    },
  };
}

export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string, everyMs = 100): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Waits until the API process on `port` answers /healthz. */
export const untilListening = (port: number): Promise<void> =>
  waitFor(
    () =>
      fetch(`http://127.0.0.1:${port}/healthz`).then(
        (r) => r.ok,
        () => false,
      ),
    60_000,
    'the API to listen',
    200,
  );

/**
 * The one admin key of every API process the bench starts. One, because ADMIN_API_KEY makes the
 * first admin key only: an API started later on the same database with another would answer 401.
 */
export const BENCH_ADMIN_KEY = 'pp_benchadminkey0123456789abcdef';

/** The API process's settings on a bench database: its own port, the bench's admin key, no demo data. */
export const apiEnv = (databaseUrl: string, port: number): Record<string, string> => ({
  DATABASE_URL: databaseUrl,
  HOST: '127.0.0.1',
  PORT: String(port),
  ADMIN_API_KEY: BENCH_ADMIN_KEY,
  LOG_LEVEL: 'warn',
  DEMO_DATA: 'no',
});
