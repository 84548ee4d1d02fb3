import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'services/*/src/**/*.test.ts', 'services/*/test/**/*.test.ts', 'packages/*/test/**/*.test.ts'],
    globalSetup: ['packages/testkit/src/global-setup.ts'],
    // 2 cores: each file owns a database, so a few files at a time is the sweet spot.
    maxWorkers: 2,
    testTimeout: 30_000,
    // .ci/run asks for a JSON report too, to count the results of both database runs.
    reporters: process.env.TEST_JSON_REPORT ? ['default', ['json', { outputFile: process.env.TEST_JSON_REPORT }]] : ['default'],
    hookTimeout: 60_000,
  },
});
