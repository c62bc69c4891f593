import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Each scenario boots the real service (and sometimes PostgreSQL or Redis) and drives load at it:
  // seconds per test. One file at a time, so scenarios do not load the 2-core machine against each other.
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    fileParallelism: false,
  },
});
