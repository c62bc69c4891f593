import type { ExtractTablesWithRelations } from 'drizzle-orm';
import { sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT, PgTransaction } from 'drizzle-orm/pg-core';
import type { Assume } from 'drizzle-orm/utils';
import { DbError } from './errors.ts';
import { type DbConfig, type NormalizedDbConfig, normalizeDbConfig } from './options.ts';
import { createQueryReport } from './query-observer.ts';

/**
 * What `db.execute()` resolves to on both drivers: PGlite's `Results` and node-postgres' `QueryResult` both
 * carry `rows` (and more, driver-specific, at runtime).
 */
export interface QueryResultHKT extends PgQueryResultHKT {
  type: QueryRows<Assume<this['row'], Record<string, unknown>>>;
}

export interface QueryRows<TRow> {
  rows: TRow[];
}

/** The drizzle database both drivers share: write code against this type and it runs on either. */
export type Database<TSchema extends Record<string, unknown> = Record<string, never>> = PgDatabase<
  QueryResultHKT,
  TSchema
>;

/** A transaction handle of {@link Database} (what `db.transaction(async (tx) => ...)` passes). */
export type Transaction<TSchema extends Record<string, unknown> = Record<string, never>> = PgTransaction<
  QueryResultHKT,
  TSchema,
  ExtractTablesWithRelations<TSchema>
>;

/** Anything that can run queries: the database or a transaction. */
export type Queryable<TSchema extends Record<string, unknown> = Record<string, never>> =
  | Database<TSchema>
  | Transaction<TSchema>;

export type DbSystem = 'pglite' | 'postgresql';

export interface RampartDb<TSchema extends Record<string, unknown> = Record<string, never>> {
  /** The real drizzle database. `db.$client` is the PGlite instance or the pg Pool underneath. */
  readonly db: Database<TSchema>;
  readonly system: DbSystem;
  /** Runs `select 1`; rejects with RAMPART_DB_PING_TIMEOUT after `timeoutMs` (default 1000). */
  ping(options?: { timeoutMs?: number }): Promise<void>;
  /** Closes the pool or PGlite and frees the data directory lock. Idempotent. */
  close(): Promise<void>;
}

/** Internal: what createDb builds from, also used by the testing entry to open snapshots. */
export interface OpenInternals {
  /** A PGlite data directory tarball to open in memory instead of running initdb. */
  loadDataDir?: Uint8Array;
}

/**
 * Opens the database: node-postgres when `url` is set, else PGlite in `dataDir` (locked to this process)
 * or in memory. Fails with a coded error within the connect timeout; never hangs.
 *
 * @example
 * const { db, close } = await createDb({ dataDir: '.data/app' });
 * await db.execute(sql`select 1`);
 * await close();
 */
export async function createDb<TSchema extends Record<string, unknown> = Record<string, never>>(
  config: DbConfig<TSchema> = {},
): Promise<RampartDb<TSchema>> {
  return openDb(normalizeDbConfig(config), {});
}

export async function openDb<TSchema extends Record<string, unknown>>(
  config: NormalizedDbConfig<TSchema>,
  internals: OpenInternals,
): Promise<RampartDb<TSchema>> {
  const system: DbSystem = config.url === undefined ? 'pglite' : 'postgresql';
  const report = createQueryReport(system, config.observer, config.slowQueryMs);
  const drizzleConfig = config.schema === undefined ? {} : { schema: config.schema };

  let db: Database<TSchema>;
  let closeClient: () => Promise<void>;
  // Drivers load on demand: importing @rampart/db pulls in neither, and a service on PostgreSQL never
  // loads PGlite (its WASM module alone is about 40 ms of start-up CPU) nor PGlite's drizzle driver.
  if (config.url !== undefined) {
    const { openPool, releaseTransactionClients } = await import('./pg-pool.ts');
    const opened = await openPool({ ...config, url: config.url }, report);
    const { drizzle } = await import('drizzle-orm/node-postgres');
    db = drizzle({ client: opened.pool, ...drizzleConfig }) as unknown as Database<TSchema>;
    releaseTransactionClients(db._.session as never, opened.pool);
    closeClient = opened.close;
  } else {
    const { openPglite } = await import('./pglite-client.ts');
    const opened = await openPglite({
      dataDir: config.dataDir,
      searchPath: config.searchPath,
      report,
      settings: config.pglite,
      ...internals,
    });
    const { drizzle } = await import('drizzle-orm/pglite');
    db = drizzle({ client: opened.client, ...drizzleConfig }) as unknown as Database<TSchema>;
    closeClient = opened.close;
  }

  let closed = false;
  return {
    db,
    system,
    async ping(options = {}) {
      if (closed) throw new DbError('RAMPART_DB_CLOSED');
      const timeoutMs = options.timeoutMs ?? 1_000;
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new DbError('RAMPART_DB_PING_TIMEOUT', { detail: `${timeoutMs} ms` })),
          timeoutMs,
        );
        timer.unref();
      });
      const query = db.execute(sql`select 1`).then(
        () => undefined,
        (error: unknown) => {
          throw new DbError('RAMPART_DB_PING_FAILED', { cause: error });
        },
      );
      // A ping that loses the race still settles later; keep its rejection from going unhandled.
      query.catch(() => {});
      try {
        await Promise.race([query, deadline]);
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      closed = true;
      await closeClient();
    },
  };
}
