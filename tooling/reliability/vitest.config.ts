import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Each scenario boots the real service (and sometimes PostgreSQL or Redis) and drives paced load at it:
  // seconds per test, mostly waiting on a fault to play out, so the bounded run takes two files at a time.
  // The heavy variants and the soak measure latency and memory: one file at a time, so they do not load
  // the 2-core machine against each other.
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Heavy variants run minutes each (200,000 keys, 30 s outages) on a machine that may be busy.
    testTimeout: process.env.RELIABILITY_HEAVY === '1' ? 900_000 : 120_000,
    hookTimeout: 60_000,
    fileParallelism: process.env.RELIABILITY_HEAVY !== '1' && process.env.RELIABILITY_SOAK !== '1',
    maxWorkers: 2,
  },
});
