import { defineConfig } from 'vitest/config';

export default defineConfig({
  // The first test of a file builds a migrated database snapshot, and process tests boot the server:
  // generous limits keep a loaded CI machine from failing them on time alone.
  test: { include: ['src/**/*.test.ts', 'test/**/*.test.ts'], testTimeout: 30_000, hookTimeout: 60_000 },
});
