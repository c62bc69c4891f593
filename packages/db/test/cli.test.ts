import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { sql } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../src/testing/test-database.ts';
import { postgresUrl } from './backends.ts';

const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const broken = fileURLToPath(new URL('./fixtures/broken', import.meta.url));

async function run(args: string[], env: Record<string, string> = {}) {
  const { DATABASE_URL: _url, DATABASE_DIR: _dir, ...base } = process.env;
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [cli, ...args], {
      env: { ...base, ...env },
      timeout: 120_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

const dirs: string[] = [];
const databases: TestDatabase[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  await Promise.all(databases.splice(0).map((database) => database.close()));
});

describe('rampart-db CLI', () => {
  it('migrates a PGlite directory, reports status, and names a broken file with exit 1', {
    timeout: 240_000,
  }, async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'rampart-cli-')), 'data');
    dirs.push(dataDir);
    // The directory comes from DATABASE_DIR here and from --data-dir below: both are read.
    const migrated = await run(['migrate'], { DATABASE_DIR: dataDir });
    expect(migrated).toMatchObject({ code: 0 });
    expect(migrated.stdout).toContain('applied 2 migration(s)');
    const after = await run(['status', '--data-dir', dataDir]);
    expect(after.stdout).toContain('0 pending');
    expect(after.stdout).toContain('[x] 0001_audit_log_append_only.sql');

    const failed = await run(['migrate', '--data-dir', dataDir, '--folder', `${broken}=broken_tracking`]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('RAMPART_DB_MIGRATION_FAILED');
    expect(failed.stderr).toContain('0001_gadgets_label.sql');
    expect(failed.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('exits 2 with the usage on bad arguments', async () => {
    for (const args of [
      ['frobnicate'],
      ['migrate'],
      ['status', '--data-dir', '/tmp/x', '--lock-timeout', 'soon'],
      ['status', '--url', 'postgres://127.0.0.1:1/x', '--connect-timeout', '0'],
      ['status', '--url', 'postgres://127.0.0.1:1/x', '--connect-timeout='],
    ]) {
      const result = await run(args);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('rampart-db');
    }
  });

  it('refuses a folder without a journal, or status on a directory with no database, creating nothing', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'rampart-cli-'));
    dirs.push(parent);
    const dataDir = join(parent, 'data');
    const missing = join(parent, 'no-such-folder');
    const migrate = await run(['migrate', '--data-dir', dataDir, '--folder', missing]);
    expect(migrate.code).toBe(1);
    expect(migrate.stderr).toContain(`RAMPART_DB_MIGRATIONS_NOT_FOUND`);
    expect(migrate.stderr).toContain(missing);
    const status = await run(['status', '--data-dir', join(dataDir, 'typo')]);
    expect(status.code).toBe(1);
    expect(status.stderr).toContain('RAMPART_DB_OPEN_FAILED');
    expect(status.stderr).toContain('run migrate');
    for (const result of [migrate, status]) expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(dataDir)).toBe(false);
  });

  it('exits 1 with a coded error when the server is unreachable', async () => {
    const result = await run([
      'status',
      '--url',
      'postgres://u:hunter2@127.0.0.1:1/db',
      '--connect-timeout',
      '500',
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('RAMPART_DB_UNREACHABLE');
    expect(result.stderr).not.toContain('hunter2');
  });

  it.skipIf(postgresUrl === undefined)('migrates PostgreSQL into a given schema', async () => {
    const database = await createTestDatabase({ backend: 'postgresql' });
    databases.push(database);
    const schema = database.schemaName!;
    const migrated = await run(['migrate', '--schema', schema], { DATABASE_URL: postgresUrl! });
    expect(migrated).toMatchObject({ code: 0 });
    const found = await database.db.execute(sql`select to_regclass('audit_log')::text as found`);
    expect(found.rows).toEqual([{ found: 'audit_log' }]);
    const status = await run(['status', '--schema', schema, '--url', postgresUrl!]);
    expect(status.stdout).toContain('0 pending');
  });
});
