import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Several files mostly wait on child processes (crash, lock, CLI): let a second file run meanwhile.
    maxWorkers: 2,
    // A cold PGlite (WASM compile + initdb) takes seconds, many more on a loaded 2-core machine.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
