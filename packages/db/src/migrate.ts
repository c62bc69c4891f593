import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { DrizzleQueryError, sql } from 'drizzle-orm';
import { type MigrationMeta, readMigrationFiles } from 'drizzle-orm/migrator';
import type { PgDialect, PgSession } from 'drizzle-orm/pg-core';
import pg from 'pg';
import type { Database, RampartDb } from './create-db.ts';
import { DbError } from './errors.ts';

export interface MigrateOptions {
  /** Absolute path of a drizzle-kit migrations folder (with meta/_journal.json). */
  migrationsFolder: string;
  /** Tracking table; give each package's folder its own. Default `__drizzle_migrations`. */
  migrationsTable?: string;
  /** Schema of the tracking table. Default `drizzle`. */
  migrationsSchema?: string;
  /** How long to wait for another migrator's advisory lock on PostgreSQL. Default 60 s. */
  lockTimeoutMs?: number;
}

/** Internal knobs of the testing entry. */
export interface MigrateInternals {
  /** Rewrites drizzle-kit's `"public".` qualifiers so a folder applies inside a per-test schema. */
  publicSchemaAs?: string;
}

export const MIGRATE_DEFAULTS = {
  migrationsTable: '__drizzle_migrations',
  migrationsSchema: 'drizzle',
  lockTimeoutMs: 60_000,
} as const;

interface JournalEntry {
  tag: string;
  when: number;
}

interface Folder {
  folder: string;
  files: string[];
  migrations: MigrationMeta[];
}

type AnyDatabase = Database<Record<string, unknown>>;
type Target = AnyDatabase | RampartDb<Record<string, unknown>>;

function toDatabase(target: Target): AnyDatabase {
  return 'system' in target && 'ping' in target ? target.db : (target as AnyDatabase);
}

/** The folder's drizzle-kit journal; throws RAMPART_DB_MIGRATIONS_NOT_FOUND when it has none. */
export function journalOf(migrationsFolder: string): string {
  const folder = resolve(migrationsFolder);
  const journalPath = join(folder, 'meta', '_journal.json');
  if (!existsSync(journalPath)) {
    throw new DbError('RAMPART_DB_MIGRATIONS_NOT_FOUND', { detail: folder });
  }
  return journalPath;
}

function readFolder(migrationsFolder: string, internals: MigrateInternals): Folder {
  const folder = resolve(migrationsFolder);
  const journalPath = journalOf(folder);
  let entries: JournalEntry[];
  let migrations: MigrationMeta[];
  try {
    entries = (JSON.parse(readFileSync(journalPath, 'utf8')) as { entries: JournalEntry[] }).entries;
    migrations = readMigrationFiles({ migrationsFolder: folder });
  } catch (error) {
    throw new DbError('RAMPART_DB_MIGRATIONS_NOT_FOUND', { detail: `${folder}: unreadable`, cause: error });
  }
  const schema = internals.publicSchemaAs;
  if (schema !== undefined) {
    for (const migration of migrations) {
      migration.sql = migration.sql.map((statement) => statement.replaceAll('"public".', `"${schema}".`));
    }
  }
  return { folder, files: entries.map((entry) => `${entry.tag}.sql`), migrations };
}

function validateOptions(options: MigrateOptions): Required<MigrateOptions> {
  const name = /^[a-z_][a-z0-9_]*$/i;
  const migrationsTable = options.migrationsTable ?? MIGRATE_DEFAULTS.migrationsTable;
  const migrationsSchema = options.migrationsSchema ?? MIGRATE_DEFAULTS.migrationsSchema;
  if (typeof options.migrationsFolder !== 'string' || options.migrationsFolder === '') {
    throw new DbError('RAMPART_DB_OPTIONS_INVALID', { detail: 'migrationsFolder must be a path' });
  }
  if (!name.test(migrationsTable) || !name.test(migrationsSchema)) {
    throw new DbError('RAMPART_DB_OPTIONS_INVALID', {
      detail: 'migrationsTable and migrationsSchema must be plain identifiers',
    });
  }
  const lockTimeoutMs = options.lockTimeoutMs ?? MIGRATE_DEFAULTS.lockTimeoutMs;
  if (!Number.isInteger(lockTimeoutMs) || lockTimeoutMs < 0) {
    throw new DbError('RAMPART_DB_OPTIONS_INVALID', { detail: 'lockTimeoutMs must be an integer >= 0' });
  }
  return { migrationsFolder: options.migrationsFolder, migrationsTable, migrationsSchema, lockTimeoutMs };
}

type Rows<T> = { rows: T[] };

async function lastApplied(db: AnyDatabase, options: Required<MigrateOptions>): Promise<number | undefined> {
  const table = `"${options.migrationsSchema}"."${options.migrationsTable}"`;
  const exists = (await db.execute(sql`select to_regclass(${table})::text as found`)) as unknown as Rows<{
    found: string | null;
  }>;
  if (!exists.rows[0]?.found) return undefined;
  const last = (await db.execute(
    sql`select max(created_at) as created_at from ${sql.identifier(options.migrationsSchema)}.${sql.identifier(options.migrationsTable)}`,
  )) as unknown as Rows<{ created_at: string | number | null }>;
  const value = last.rows[0]?.created_at;
  return value === undefined || value === null ? undefined : Number(value);
}

/** Names the file whose statement failed: the first pending migration containing the failing statement. */
function failedFile(folder: Folder, error: unknown, applied: number | undefined): string {
  let query: string | undefined;
  for (let current = error; current instanceof Error; current = current.cause) {
    if (current instanceof DrizzleQueryError) query = current.query;
  }
  const pending = folder.migrations
    .map((migration, index) => ({ migration, file: folder.files[index] ?? `#${index}` }))
    .filter(({ migration }) => applied === undefined || migration.folderMillis > applied);
  const hit =
    query === undefined ? undefined : pending.find(({ migration }) => migration.sql.includes(query));
  return hit?.file ?? pending[0]?.file ?? 'unknown file';
}

function rootMessage(error: unknown): string {
  let message = error instanceof Error ? error.message : String(error);
  for (let current = error; current instanceof Error; current = current.cause) {
    if (!(current instanceof DrizzleQueryError)) message = current.message;
  }
  return message;
}

async function applyFolder(
  db: AnyDatabase,
  folder: Folder,
  options: Required<MigrateOptions>,
): Promise<void> {
  const applied = await lastApplied(db, options);
  const dialect = (db as unknown as { dialect: PgDialect }).dialect;
  try {
    // drizzle's own migrator: one transaction for all pending files, drizzle-kit's tracking table format.
    await dialect.migrate(folder.migrations, db._.session as unknown as PgSession, {
      migrationsFolder: folder.folder,
      migrationsTable: options.migrationsTable,
      migrationsSchema: options.migrationsSchema,
    });
  } catch (error) {
    const file = failedFile(folder, error, applied);
    throw new DbError('RAMPART_DB_MIGRATION_FAILED', {
      detail: `${file} in ${folder.folder}: ${rootMessage(error)}`,
      cause: error,
    });
  }
}

// PGlite is one connection per process: migrators on the same instance queue here instead.
const pgliteQueues = new WeakMap<object, Promise<unknown>>();

async function withPgliteQueue<T>(client: object, run: () => Promise<T>): Promise<T> {
  const previous = pgliteQueues.get(client) ?? Promise.resolve();
  const next = previous.then(run, run);
  pgliteQueues.set(
    client,
    next.catch(() => {}),
  );
  return next;
}

async function withAdvisoryLock<T>(
  pool: pg.Pool,
  key: string,
  timeoutMs: number,
  run: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  let locked = false;
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const result = await client.query<{ locked: boolean }>(
        'select pg_try_advisory_lock(hashtextextended($1, 0)) as locked',
        [key],
      );
      if (result.rows[0]?.locked) break;
      if (Date.now() >= deadline) {
        throw new DbError('RAMPART_DB_MIGRATION_LOCKED', { detail: `${key} after ${timeoutMs} ms` });
      }
      await new Promise((done) => setTimeout(done, Math.min(100, Math.max(1, deadline - Date.now()))));
    }
    locked = true;
    return await run(client);
  } finally {
    if (locked)
      await client.query('select pg_advisory_unlock(hashtextextended($1, 0))', [key]).catch(() => {});
    client.release();
  }
}

/**
 * Applies a drizzle-kit migrations folder with drizzle's migrator. On PostgreSQL concurrent migrators
 * serialize on an advisory lock; on PGlite they queue in-process. A failing migration rolls back every
 * pending file of this run and throws RAMPART_DB_MIGRATION_FAILED naming the file.
 *
 * @example
 * await migrate(database, { migrationsFolder, migrationsTable: '__rampart_db_migrations' });
 */
export async function migrate(target: Target, options: MigrateOptions): Promise<void> {
  await migrateWith(target, options, {});
}

export async function migrateWith(
  target: Target,
  options: MigrateOptions,
  internals: MigrateInternals,
): Promise<void> {
  const normalized = validateOptions(options);
  const folder = readFolder(normalized.migrationsFolder, internals);
  const db = toDatabase(target);
  // Every start of a service migrates; almost always there is nothing to apply. Two reads say so without
  // the lock, the DDL and the empty transaction of drizzle's migrator (on PGlite, 15 statements against a
  // cold catalog, about 0.5 s). Rows in the tracking table are committed, so "all applied" is final.
  const newest = folder.migrations.at(-1)?.folderMillis;
  const applied = newest === undefined ? undefined : await lastApplied(db, normalized);
  if (newest !== undefined && applied !== undefined && applied >= newest) return;
  const client = (db as unknown as { $client: unknown }).$client;
  if (client instanceof pg.Pool) {
    const key = `rampart-db:migrate:${normalized.migrationsSchema}.${normalized.migrationsTable}`;
    await withAdvisoryLock(client, key, normalized.lockTimeoutMs, async (connection) => {
      // One connection for the whole run: the lock is held by this session and the migration uses it.
      const { drizzle } = await import('drizzle-orm/node-postgres');
      const single = drizzle({ client: connection }) as unknown as AnyDatabase;
      await applyFolder(single, folder, normalized);
    });
    return;
  }
  await withPgliteQueue(client as PGlite, () => applyFolder(db, folder, normalized));
}

export interface MigrationStatus {
  /** Every file of the folder in journal order, with whether it is applied. */
  files: Array<{ file: string; applied: boolean }>;
  pending: string[];
}

/** Which files of a folder are applied (drizzle's rule: by the journal timestamp of the last applied one). */
export async function migrationStatus(target: Target, options: MigrateOptions): Promise<MigrationStatus> {
  const normalized = validateOptions(options);
  const folder = readFolder(normalized.migrationsFolder, {});
  const applied = await lastApplied(toDatabase(target), normalized);
  const files = folder.migrations.map((migration, index) => ({
    file: folder.files[index] ?? `#${index}`,
    applied: applied !== undefined && migration.folderMillis <= applied,
  }));
  return { files, pending: files.filter((entry) => !entry.applied).map((entry) => entry.file) };
}
