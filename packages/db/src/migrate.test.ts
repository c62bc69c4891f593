import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { backends, postgresUrl } from '../test/backends.ts';
import { isDbError } from './errors.ts';
import { type MigrateOptions, migrate, migrationStatus } from './migrate.ts';
import { migrationsFolder, migrationsTable } from './migrations-folder.ts';
import { createTestDatabase, type TestDatabase } from './testing/test-database.ts';

const fixture = (name: string) => fileURLToPath(new URL(`../test/fixtures/${name}`, import.meta.url));

async function tables(database: TestDatabase): Promise<string[]> {
  const result = await database.db.execute(
    sql`select table_name from information_schema.tables where table_schema = current_schema() order by 1`,
  );
  return (result.rows as Array<{ table_name: string }>).map((row) => row.table_name);
}

async function columns(database: TestDatabase, table: string): Promise<string[]> {
  const result = await database.db.execute(
    sql`select column_name from information_schema.columns where table_schema = current_schema() and table_name = ${table} order by ordinal_position`,
  );
  return (result.rows as Array<{ column_name: string }>).map((row) => row.column_name);
}

describe.each(backends)('migrate on $backend', ({ backend, skip }) => {
  let database: TestDatabase | undefined;
  afterEach(async () => {
    await database?.close();
    database = undefined;
  });
  // Tracking tables live in the test's own schema on PostgreSQL, never in a shared one.
  const options = (folder: string, table = migrationsTable): MigrateOptions => ({
    migrationsFolder: folder,
    migrationsTable: table,
    migrationsSchema: database?.schemaName ?? 'drizzle',
  });

  it.skipIf(skip)("applies the package's own migrations once and reports their status", async () => {
    database = await createTestDatabase({ backend });
    expect((await migrationStatus(database, options(migrationsFolder))).pending).toEqual([
      '0000_audit_log.sql',
      '0001_audit_log_append_only.sql',
    ]);
    await migrate(database, options(migrationsFolder));
    await migrate(database.db, options(migrationsFolder));
    expect(await tables(database)).toContain('audit_log');
    const status = await migrationStatus(database, options(migrationsFolder));
    expect(status.pending).toEqual([]);
    expect(status.files.every((file) => file.applied)).toBe(true);
  });

  it.skipIf(skip)('an up-to-date folder costs two reads: no lock, no DDL, no transaction', async () => {
    const statements: string[] = [];
    database = await createTestDatabase({
      backend,
      observer: { onQuery: (event) => statements.push(event.sql) },
    });
    await migrate(database, options(migrationsFolder));
    statements.length = 0;
    await migrate(database, options(migrationsFolder));
    expect(statements).toHaveLength(2);
    expect(statements.every((statement) => /^select /i.test(statement.trim()))).toBe(true);
    expect((await migrationStatus(database, options(migrationsFolder))).pending).toEqual([]);
  });

  it.skipIf(skip)('names the failing file and leaves the schema as it was', async () => {
    database = await createTestDatabase({ backend });
    const error = await migrate(database, options(fixture('broken'), 'broken_migrations')).catch(
      (caught: unknown) => caught,
    );
    expect(isDbError(error, 'RAMPART_DB_MIGRATION_FAILED')).toBe(true);
    expect((error as Error).message).toContain('0001_gadgets_label.sql');
    expect((error as Error).message).toContain('no_such_type');
    expect((error as Error).cause).toBeDefined();
    // Every pending file of the run rolled back together: not even 0000's table is left behind.
    expect(await tables(database)).not.toContain('gadgets');
    const status = await migrationStatus(database, options(fixture('broken'), 'broken_migrations'));
    expect(status.pending).toEqual(['0000_gadgets.sql', '0001_gadgets_label.sql']);
  });

  it.skipIf(skip)('rolls back only the new file when earlier ones were applied before', async () => {
    database = await createTestDatabase({ backend });
    await migrate(database, options(fixture('good'), 'shared_tracking'));
    const error = await migrate(database, options(fixture('broken'), 'broken_tracking')).catch(
      (caught: unknown) => caught,
    );
    expect((error as Error).message).toContain('0001_gadgets_label.sql');
    expect(await tables(database)).toContain('widgets');
    expect(await columns(database, 'widgets')).toEqual(['id', 'name']);
  });

  it.skipIf(skip)('serializes concurrent migrators', async () => {
    database = await createTestDatabase({ backend });
    const opts = options(migrationsFolder);
    await Promise.all([migrate(database, opts), migrate(database, opts), migrate(database, opts)]);
    const rows = await database.db.execute(
      sql`select count(*)::int as n from ${sql.identifier(opts.migrationsSchema ?? 'drizzle')}.${sql.identifier(migrationsTable)}`,
    );
    expect(rows.rows).toEqual([{ n: 2 }]);
  });

  it.skipIf(skip)('rejects a folder without a journal and bad names', async () => {
    database = await createTestDatabase({ backend });
    await expect(migrate(database, options(fixture('nowhere')))).rejects.toMatchObject({
      code: 'RAMPART_DB_MIGRATIONS_NOT_FOUND',
    });
    await expect(
      migrate(database, { migrationsFolder, migrationsTable: 'x"; drop table y; --' }),
    ).rejects.toMatchObject({ code: 'RAMPART_DB_OPTIONS_INVALID' });
  });
});

describe.skipIf(postgresUrl === undefined)('migrate on postgresql, lock held elsewhere', () => {
  it('gives up with RAMPART_DB_MIGRATION_LOCKED after lockTimeoutMs, then succeeds once it is free', async () => {
    const database = await createTestDatabase({ backend: 'postgresql' });
    const holder = new pg.Client({ connectionString: postgresUrl });
    await holder.connect();
    try {
      const options = {
        migrationsFolder,
        migrationsTable,
        migrationsSchema: database.schemaName!,
        lockTimeoutMs: 300,
      };
      const key = `rampart-db:migrate:${options.migrationsSchema}.${options.migrationsTable}`;
      await holder.query('select pg_advisory_lock(hashtextextended($1, 0))', [key]);
      const started = Date.now();
      await expect(migrate(database, options)).rejects.toMatchObject({ code: 'RAMPART_DB_MIGRATION_LOCKED' });
      expect(Date.now() - started).toBeGreaterThanOrEqual(250);
      expect((await migrationStatus(database, options)).pending).toHaveLength(2);
      await holder.query('select pg_advisory_unlock(hashtextextended($1, 0))', [key]);
      await migrate(database, options);
      expect((await migrationStatus(database, options)).pending).toEqual([]);
    } finally {
      await holder.end();
      await database.close();
    }
  });
});
