import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // The migrated database snapshot every test opens its own copy of, built once for the whole run.
    globalSetup: ['test/snapshot-setup.ts'],
    // The process test boots the server: generous limits keep a loaded CI machine from failing on time alone.
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
