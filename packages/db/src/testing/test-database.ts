import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { openDb, type RampartDb } from '../create-db.ts';
import { DbError } from '../errors.ts';
import { type MigrateOptions, migrateWith } from '../migrate.ts';
import { type NormalizedPgliteConfig, normalizeDbConfig, type PgliteConfig } from '../options.ts';
import type { QueryObserver } from '../query-observer.ts';
import { testDatabaseUrl } from './service-gate.ts';

export interface TestDatabaseOptions<TSchema extends Record<string, unknown> = Record<string, never>> {
  /** Migration folders applied in order: a path (own tracking table derived from it) or full options. */
  migrations?: ReadonlyArray<string | MigrateOptions>;
  schema?: TSchema;
  /** 'auto' (default): PostgreSQL when TEST_DATABASE_URL is set, else in-memory PGlite. */
  backend?: 'auto' | 'pglite' | 'postgresql';
  observer?: QueryObserver;
  slowQueryMs?: number;
  /** PGlite settings (createDb's `pglite`): the snapshot is built and opened with them. */
  pglite?: PgliteConfig;
  /** Environment to read TEST_DATABASE_URL and CI from. Default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
}

export interface TestDatabase<TSchema extends Record<string, unknown> = Record<string, never>>
  extends RampartDb<TSchema> {
  /** The per-test PostgreSQL schema (dropped by close()); undefined on PGlite. */
  readonly schemaName: string | undefined;
}

function folderOptions(entry: string | MigrateOptions): MigrateOptions {
  if (typeof entry !== 'string') return { ...entry, migrationsFolder: resolve(entry.migrationsFolder) };
  const folder = resolve(entry);
  const suffix = createHash('sha256').update(folder).digest('hex').slice(0, 10);
  return { migrationsFolder: folder, migrationsTable: `__drizzle_migrations_${suffix}` };
}

// Bump when the way snapshots are built changes in a way the inputs below do not show.
const SNAPSHOT_FORMAT = 2;

function snapshotKey(folders: MigrateOptions[], settings: NormalizedPgliteConfig): string {
  const hash = createHash('sha256');
  hash.update(`format ${SNAPSHOT_FORMAT}\n`);
  // The resolved PGlite path carries its version in the store path: a new PGlite never reads an old tarball.
  hash.update(import.meta.resolve('@electric-sql/pglite'));
  // The WAL segment size is baked into the tarball; the other settings only apply at open, but a tarball is
  // never shared across settings so that none can be opened with settings it was not built and tested with.
  hash.update(JSON.stringify(settings));
  for (const folder of folders) {
    hash.update(JSON.stringify(folder));
    try {
      const journal = readFileSync(join(folder.migrationsFolder, 'meta', '_journal.json'), 'utf8');
      hash.update(journal);
      for (const entry of (JSON.parse(journal) as { entries: Array<{ tag: string }> }).entries) {
        hash.update(readFileSync(join(folder.migrationsFolder, `${entry.tag}.sql`)));
      }
    } catch {
      // migrate() reports the missing folder with its own code
    }
  }
  return hash.digest('hex');
}

// Migrated data directories, as tarballs (data, not clients): each test opens its own PGlite from one. They
// are also kept in the temp directory, so the next test file (vitest isolates files) and the next run skip
// initdb and the migrations; the key covers the PGlite version, the PGlite settings and every migration
// file's content. Kept as bytes, not a Blob: see BytesBlob in pglite-client.ts.
const snapshots = new Map<string, Promise<Uint8Array>>();
const SNAPSHOT_DIR = join(tmpdir(), 'rampart-db-snapshots');

async function buildSnapshot(
  folders: MigrateOptions[],
  pglite: PgliteConfig | undefined,
): Promise<Uint8Array> {
  const seed = await openDb(normalizeDbConfig(pglite === undefined ? {} : { pglite }), {});
  try {
    for (const folder of folders) await migrateWith(seed, folder, {});
    const client = (seed.db as unknown as { $client: { dumpDataDir(c: 'none'): Promise<Blob> } }).$client;
    return new Uint8Array(await (await client.dumpDataDir('none')).arrayBuffer());
  } finally {
    await seed.close();
  }
}

/** Where the tarball for these folders and settings is cached between processes. */
export function snapshotFile(folders: MigrateOptions[], settings: NormalizedPgliteConfig): string {
  return join(SNAPSHOT_DIR, `${snapshotKey(folders, settings)}.tar`);
}

async function loadOrBuildSnapshot(
  file: string,
  folders: MigrateOptions[],
  pglite: PgliteConfig | undefined,
): Promise<Uint8Array> {
  try {
    const bytes = readFileSync(file);
    if (bytes.length > 0) return bytes;
  } catch {
    // not cached yet
  }
  const snapshot = await buildSnapshot(folders, pglite);
  try {
    mkdirSync(SNAPSHOT_DIR, { recursive: true });
    // Write then rename: a concurrent reader sees the whole tarball or none.
    const partial = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
    writeFileSync(partial, snapshot);
    renameSync(partial, file);
  } catch {
    // A read-only temp directory only costs speed.
  }
  return snapshot;
}

function migratedSnapshot(file: string, folders: MigrateOptions[], pglite: PgliteConfig | undefined) {
  let snapshot = snapshots.get(file);
  if (!snapshot) {
    snapshot = loadOrBuildSnapshot(file, folders, pglite);
    snapshots.set(file, snapshot);
    snapshot.catch(() => snapshots.delete(file));
  }
  return snapshot;
}

/** Drops a cached tarball that failed to open, so the next call rebuilds it. */
function forgetSnapshot(file: string): void {
  snapshots.delete(file);
  rmSync(file, { force: true });
}

async function withAdmin<T>(url: string, run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

/**
 * A fresh migrated database for one test: in-memory PGlite opened from a migrated snapshot (migrations run
 * once per set of folders), or its own schema on PostgreSQL when TEST_DATABASE_URL is set. Follows the
 * service rule: under CI=true a missing TEST_DATABASE_URL fails instead of falling back.
 *
 * @example
 * const { db, close } = await createTestDatabase({ migrations: [migrationsFolder] });
 * afterEach(() => close());
 */
export async function createTestDatabase<TSchema extends Record<string, unknown> = Record<string, never>>(
  options: TestDatabaseOptions<TSchema> = {},
): Promise<TestDatabase<TSchema>> {
  const env = options.env ?? process.env;
  const backend = options.backend ?? 'auto';
  const folders = (options.migrations ?? []).map(folderOptions);
  const base = {
    ...(options.schema === undefined ? {} : { schema: options.schema }),
    ...(options.observer === undefined ? {} : { observer: options.observer }),
    ...(options.slowQueryMs === undefined ? {} : { slowQueryMs: options.slowQueryMs }),
    ...(options.pglite === undefined ? {} : { pglite: options.pglite }),
  };

  let url: string | undefined;
  if (backend === 'postgresql') {
    url = env.TEST_DATABASE_URL || undefined;
    if (url === undefined) {
      throw new DbError('RAMPART_DB_SERVICE_MISSING', {
        detail: 'backend postgresql needs TEST_DATABASE_URL',
      });
    }
  } else if (backend === 'auto') {
    url = testDatabaseUrl(env);
  }

  if (url === undefined) {
    const config = normalizeDbConfig<TSchema>(base);
    const file = snapshotFile(folders, config.pglite);
    let database: RampartDb<TSchema>;
    try {
      database = await openDb(config, { loadDataDir: await migratedSnapshot(file, folders, options.pglite) });
    } catch {
      forgetSnapshot(file);
      database = await openDb(config, { loadDataDir: await migratedSnapshot(file, folders, options.pglite) });
    }
    return { ...database, schemaName: undefined };
  }

  const schemaName = `t_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const adminUrl = url;
  await withAdmin(adminUrl, (client) => client.query(`create schema "${schemaName}"`));
  const dropSchema = () =>
    withAdmin(adminUrl, (client) => client.query(`drop schema if exists "${schemaName}" cascade`));
  let database: RampartDb<TSchema> | undefined;
  try {
    database = await openDb(
      normalizeDbConfig<TSchema>({ ...base, url, searchPath: schemaName, poolSize: 4 }),
      {},
    );
    for (const folder of folders) {
      await migrateWith(
        database,
        { ...folder, migrationsSchema: schemaName },
        { publicSchemaAs: schemaName },
      );
    }
  } catch (error) {
    await database?.close();
    await dropSchema();
    throw error;
  }
  const opened = database;
  let closing: Promise<void> | undefined;
  return {
    ...opened,
    schemaName,
    close() {
      closing ??= opened.close().finally(dropSchema);
      return closing;
    },
  };
}
