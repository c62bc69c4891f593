import { defineConfig } from 'vitest/config';

// Runs the suites here as a user's test run would; describe-hardening.test.ts spawns it and reads the result.
export default defineConfig({
  test: { include: ['test/suite/*.suite.ts'], testTimeout: 60_000 },
});
