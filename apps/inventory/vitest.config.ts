import { defineConfig } from 'vitest/config';
import { TEST_PROCESS_V8_FLAGS } from './test/v8-flags.ts';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Two workers, each running its test files one after another in one module graph: the stack (fastify,
    // drizzle-orm, PGlite, the migrated snapshot each test opens its own database from) loads once per
    // worker, not once per file. Safe because no test leaves global state behind: each opens and closes its
    // own database and app, and the hardening test shuts its tracing down. A file that cannot clean up after
    // itself belongs in a project of its own with `isolate: true`.
    isolate: false,
    maxWorkers: 2,
    execArgv: TEST_PROCESS_V8_FLAGS,
    setupFiles: ['test/register-import-hook.ts'],
    // The process test boots the server: generous limits keep a loaded CI machine from failing on time alone.
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
