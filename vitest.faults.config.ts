import { defineConfig } from 'vitest/config';

// `pnpm test:faults`: real pushes on real Postgres (TEST_DATABASE_URL; skipped without it) with
// dispatcher child processes and the fake providers; see services/dispatcher/test/faults/.
// Files end in .fault.ts so the ordinary `pnpm test` never picks them up.
export default defineConfig({
  test: {
    include: ['services/dispatcher/test/faults/**/*.fault.ts'],
    globalSetup: ['packages/testkit/src/global-setup.ts'],
    // Each scenario runs several processes of its own: one at a time on 2 cores.
    maxWorkers: 1,
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 60_000,
    // .ci/run counts these results with the others (FAULTS_SCALE=small there).
    reporters: process.env.TEST_JSON_REPORT ? ['default', ['json', { outputFile: process.env.TEST_JSON_REPORT }]] : ['default'],
  },
});
