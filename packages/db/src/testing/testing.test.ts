import { sql } from 'drizzle-orm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { backends } from '../../test/backends.ts';
import { migrationsFolder } from '../migrations-folder.ts';
import { normalizePgliteConfig } from '../options.ts';
import { requireService, testDatabaseUrl } from './service-gate.ts';
import { createTestDatabase, snapshotFile, type TestDatabase } from './test-database.ts';

describe.each(backends)('createTestDatabase on $backend', ({ backend, skip }) => {
  const opened: TestDatabase[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((database) => database.close()));
  });

  it.skipIf(skip)('gives each test its own migrated database', async () => {
    const first = await createTestDatabase({ backend, migrations: [migrationsFolder] });
    const second = await createTestDatabase({ backend, migrations: [migrationsFolder] });
    opened.push(first, second);
    await first.db.execute(sql`create table only_in_first (x int)`);
    const seen = await second.db.execute(sql`select to_regclass('only_in_first')::text as found`);
    expect(seen.rows).toEqual([{ found: null }]);
    // Both have the migrated audit_log.
    for (const database of [first, second]) {
      const found = await database.db.execute(sql`select to_regclass('audit_log')::text as found`);
      expect(found.rows).toEqual([{ found: 'audit_log' }]);
    }
    if (backend === 'postgresql') {
      expect(first.schemaName).toMatch(/^t_/);
      expect(first.schemaName).not.toBe(second.schemaName);
    } else {
      expect(first.schemaName).toBeUndefined();
    }
  });

  it.skipIf(skip || backend !== 'postgresql')('drops its schema on close', async () => {
    const database = await createTestDatabase({ backend });
    const probe = await createTestDatabase({ backend });
    opened.push(probe);
    await database.close();
    const found = await probe.db.execute(
      sql`select count(*)::int as n from information_schema.schemata where schema_name = ${database.schemaName}`,
    );
    expect(found.rows).toEqual([{ n: 0 }]);
  });
});

describe('PGlite test snapshots', () => {
  const folders = [{ migrationsFolder, migrationsTable: '__rampart_db_migrations' }];

  it('are cached under a key that changes with every PGlite setting', () => {
    const files = [
      undefined,
      { sharedBuffersMb: 32 },
      { walSegmentMb: 2 },
      { settings: { work_mem: '8MB' } },
      { settings: { work_mem: '16MB' } },
    ].map((pglite) => snapshotFile(folders, normalizePgliteConfig(pglite)));
    expect(new Set(files).size).toBe(files.length);
    // The defaults spelled out are the defaults.
    expect(snapshotFile(folders, normalizePgliteConfig({ sharedBuffersMb: 16, walSegmentMb: 1 }))).toBe(
      files[0],
    );
  });

  it('are built and opened with the lean settings, or with the ones given', async () => {
    const settings = sql`select current_setting('shared_buffers') as buffers,
      current_setting('wal_segment_size') as wal, to_regclass('audit_log')::text as migrated`;
    const lean = await createTestDatabase({ backend: 'pglite', migrations: [migrationsFolder] });
    try {
      expect((await lean.db.execute(settings)).rows).toEqual([
        { buffers: '16MB', wal: '1MB', migrated: 'audit_log' },
      ]);
    } finally {
      await lean.close();
    }
    // The WAL segment size is baked into the tarball at initdb: another size means another snapshot.
    const other = await createTestDatabase({
      backend: 'pglite',
      migrations: [migrationsFolder],
      pglite: { sharedBuffersMb: 8, walSegmentMb: 2 },
    });
    try {
      expect((await other.db.execute(settings)).rows).toEqual([
        { buffers: '8MB', wal: '2MB', migrated: 'audit_log' },
      ]);
    } finally {
      await other.close();
    }
  });

  it('reject invalid PGlite settings with the options error', async () => {
    await expect(
      createTestDatabase({ backend: 'pglite', pglite: { walSegmentMb: 3 } }),
    ).rejects.toMatchObject({
      code: 'RAMPART_DB_OPTIONS_INVALID',
    });
  });
});

describe('the service gate', () => {
  it('returns the variable when it is set', () => {
    expect(testDatabaseUrl({ TEST_DATABASE_URL: 'postgres://h/db' })).toBe('postgres://h/db');
    expect(requireService('Redis', 'TEST_REDIS_URL', { TEST_REDIS_URL: 'redis://h' })).toBe('redis://h');
  });

  it('prints one SKIPPED SERVICE line and returns undefined when unset outside CI', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      expect(requireService('Redis', 'TEST_UNSET_FOR_GATE', {})).toBeUndefined();
      expect(requireService('Redis', 'TEST_UNSET_FOR_GATE', { TEST_UNSET_FOR_GATE: '' })).toBeUndefined();
      expect(warn).toHaveBeenCalledTimes(1);
      expect(warn).toHaveBeenCalledWith('SKIPPED SERVICE: requires Redis (TEST_UNSET_FOR_GATE unset)');
    } finally {
      warn.mockRestore();
    }
  });

  it('fails loudly under CI=true', () => {
    expect(() => testDatabaseUrl({ CI: 'true' })).toThrow(
      expect.objectContaining({ code: 'RAMPART_DB_SERVICE_MISSING' }),
    );
  });

  it('createTestDatabase follows the same rule', async () => {
    await expect(createTestDatabase({ env: { CI: 'true' } })).rejects.toMatchObject({
      code: 'RAMPART_DB_SERVICE_MISSING',
    });
    await expect(createTestDatabase({ backend: 'postgresql', env: {} })).rejects.toMatchObject({
      code: 'RAMPART_DB_SERVICE_MISSING',
    });
  });
});
