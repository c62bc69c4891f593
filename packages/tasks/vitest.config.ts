import { defineConfig } from 'vitest/config';

export default defineConfig({
  // pg-boss installs its schema in every test's fresh database: a few seconds on PGlite.
  test: { include: ['src/**/*.test.ts', 'test/**/*.test.ts'], testTimeout: 60_000, hookTimeout: 60_000 },
});
