import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Each worker builds its own migrated PGlite snapshot, which takes seconds; two workers match the two cores
    // and the generous timeouts absorb a machine shared with other suites.
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
