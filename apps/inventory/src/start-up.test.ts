import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { TEST_PROCESS_V8_FLAGS } from '../test/v8-flags.ts';

const serviceDir = fileURLToPath(new URL('..', import.meta.url));

// What a process loads at start is its start-up time: optional integrations load only when configured.
// A fresh Node (not vitest's loader) builds the app the way src/server.ts does and records every module
// it resolves.
const script = `
  import { registerHooks } from 'node:module';
  const resolved = new Set();
  registerHooks({ resolve(specifier, context, next) { const result = next(specifier, context); resolved.add(result.url); return result; } });
  const loaded = (name) => [...resolved].some((url) => url.includes('/node_modules/' + name + '/'));
  const seen = () => ({ ioredis: loaded('ioredis'), undici: loaded('undici'), pgBoss: loaded('pg-boss') });
  const { registerDrizzleImportHook } = await import('@rampart/db/import-hook');
  registerDrizzleImportHook();
  const { parseEnv } = await import('./src/env.ts');
  const { buildApp } = await import('./src/app.ts');
  const afterImport = seen();
  // A copy of the migrated snapshot the test workers cached in the temp directory (built here if none
  // has been yet), or a schema of its own on PostgreSQL.
  const { createTestDatabase } = await import('@rampart/db/testing');
  const { MIGRATIONS } = await import('./src/database.ts');
  const database = await createTestDatabase({ migrations: MIGRATIONS });
  const app = await buildApp({ env: parseEnv({ LOG_LEVEL: 'silent', LOAD_SHEDDING: 'off' }), database });
  await app.ready();
  const built = seen();
  await app.close();
  await database.close();
  // The check itself sees ioredis when something does load it.
  await import('@rampart/security/redis');
  console.log(JSON.stringify({ afterImport, built, control: seen() }));
`;

// PostgreSQL when TEST_DATABASE_URL is set (as in CI), else PGlite, where the API runs the tasks itself.
const onPostgres = Boolean(process.env.TEST_DATABASE_URL);

describe('start-up', () => {
  it('loads no ioredis without REDIS_URL, no HTTP client before one is used, no pg-boss where no task runs', () => {
    const run = spawnSync(process.execPath, [...TEST_PROCESS_V8_FLAGS, '--input-type=module', '-e', script], {
      cwd: serviceDir,
      env: {
        PATH: process.env.PATH ?? '',
        ...(process.env.TEST_DATABASE_URL ? { TEST_DATABASE_URL: process.env.TEST_DATABASE_URL } : {}),
      },
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({
      afterImport: { ioredis: false, undici: false, pgBoss: false },
      // On PostgreSQL the API only enqueues: pg-boss waits for the first job.
      built: { ioredis: false, undici: false, pgBoss: !onPostgres },
      control: { ioredis: true, undici: false, pgBoss: !onPostgres },
    });
  }, 150_000);
});
