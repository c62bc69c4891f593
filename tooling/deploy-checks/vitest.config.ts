import { defineConfig } from 'vitest/config';

export default defineConfig({
  // The checks spawn kubectl, promtool and docker-compose (a Python program that starts slowly on a busy
  // machine) and one test runs the real generator: seconds, not milliseconds.
  test: { include: ['src/**/*.test.ts', 'test/**/*.test.ts'], testTimeout: 60_000, hookTimeout: 60_000 },
});
