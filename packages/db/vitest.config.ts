import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // A cold PGlite (WASM compile + initdb) takes a few seconds on the 2-core machines.
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
