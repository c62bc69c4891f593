import { defineConfig } from 'vitest/config';

export default defineConfig({
  // The first PGlite test of a worker builds the migrated snapshot, which takes seconds on two busy cores.
  test: { include: ['src/**/*.test.ts', 'test/**/*.test.ts'], testTimeout: 30_000, hookTimeout: 30_000 },
});
