// What the one-off commands (pnpm db:migrate, archive, backup, restore, import:enterprises) share:
// the configuration read as the server reads it, the database they open, and running as a script.
// Each command is a function of its arguments, environment and outputs, so tests call it directly.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Config, ConfigError, parseConfig, safeError } from '@policy-push/core';
import type { DbConfig } from '@policy-push/db';

export interface Output {
  write(line: string): unknown;
}

/** The configuration, or null once a configuration error has been written to `err`. */
export function readConfig(env: Record<string, string | undefined>, err: Output): Config | null {
  try {
    return parseConfig(env);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    err.write(`configuration error: ${e.message}\n`);
    return null;
  }
}

/** Postgres when DATABASE_URL is set (a small pool named after the command), else the embedded directory. */
export const commandDb = (config: Config, command: string, poolSize = 1): DbConfig =>
  config.databaseUrl
    ? { url: config.databaseUrl, poolSize, applicationName: `policy-push-${command}` }
    : { dataDir: resolve(config.dataDir, 'pglite') };

/** Runs the command when this module is the script node was started with; its answer is the exit code. */
export function runAsScript(moduleUrl: string, command: () => Promise<number>): void {
  if (!process.argv[1] || resolve(process.argv[1]) !== fileURLToPath(moduleUrl)) return;
  command().then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      console.error(safeError(e));
      process.exitCode = 1;
    },
  );
}
