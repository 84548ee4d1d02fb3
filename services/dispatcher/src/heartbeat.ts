// Liveness for the standalone dispatcher, which serves no HTTP: while the process's event loop
// runs and its database answers, a file's modification time keeps moving. A container health
// check (docker-compose.yml, infra/k8s) calls the dispatcher unhealthy when the file grows old:
//   node -e "process.exit(Date.now() - require('fs').statSync(FILE).mtimeMs < 60000 ? 0 : 1)"
import { closeSync, openSync, utimesSync } from 'node:fs';

export interface Heartbeat {
  stop(): void;
}

/** Touches `file` now and every `intervalMs` for as long as `ping` (a `select 1`) succeeds. */
export function startHeartbeat(file: string, ping: () => Promise<unknown>, intervalMs = 10_000): Heartbeat {
  let stopped = false;
  const beat = async () => {
    try {
      await ping();
      if (!stopped) touch(file);
    } catch {
      // No touch: the file ages and the health check reports the database unreachable from here.
    }
  };
  void beat();
  const timer = setInterval(() => void beat(), intervalMs);
  timer.unref();
  return {
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}

function touch(file: string): void {
  const now = new Date();
  try {
    utimesSync(file, now, now);
  } catch {
    closeSync(openSync(file, 'a'));
  }
}
