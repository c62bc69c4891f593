import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Tests here start real processes and servers. CI runs every package's tests at once on two cores, where
    // vitest's 5-s default failed observability's promtool test (5.08 s; under 0.9 s with eight busy loops
    // here). The limit only catches a hang; it is not a performance assertion.
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
