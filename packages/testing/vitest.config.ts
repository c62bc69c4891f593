import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Each kit test builds real apps and sends them thousands of requests.
  test: { include: ['src/**/*.test.ts', 'test/**/*.test.ts'], testTimeout: 60_000 },
});
