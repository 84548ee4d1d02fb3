// A token store in memory, for the channels' unit tests: one process's view of the shared cache,
// with the refresh lock as a queue. The one over Postgres is packages/db's providerTokenStore.
import type { LockedTokenStore, StoredToken, TokenStore } from './wechat-token';

export function memoryTokenStore(): TokenStore {
  let stored: StoredToken | null = null;
  let lock: Promise<unknown> = Promise.resolve();
  const locked: LockedTokenStore = {
    read: async () => stored,
    save: async (t) => {
      stored = t;
    },
  };
  return {
    read: async () => stored,
    whileLocked(fn) {
      const run = lock.then(() => fn(locked));
      lock = run.catch(() => undefined);
      return run;
    },
  };
}
