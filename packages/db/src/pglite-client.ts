import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  PGlite,
  type PGliteOptions,
  type QueryOptions,
  type Results,
  type Transaction,
} from '@electric-sql/pglite';
import { type DirectoryLock, lockDirectory } from './directory-lock.ts';
import { DbError } from './errors.ts';
import { observed, type QueryReport } from './query-observer.ts';

function observeTransaction(tx: Transaction, report: QueryReport): Transaction {
  return {
    query: (query, params, options) => observed(report, query, () => tx.query(query, params, options)),
    sql: (strings, ...params) => observed(report, strings.join('?'), () => tx.sql(strings, ...params)),
    exec: (query, options) => observed(report, query, () => tx.exec(query, options)),
    rollback: () => observed(report, 'ROLLBACK', () => tx.rollback()),
    listen: (channel, callback) => tx.listen(channel, callback),
    get closed() {
      return tx.closed;
    },
  };
}

/**
 * PGlite reporting every statement to the query observer. A subclass rather than a wrapper so drizzle and
 * every other PGlite consumer (pg-boss adapters, raw `$client` use) get the real client.
 */
class ObservedPGlite extends PGlite {
  readonly #report: QueryReport;

  constructor(options: PGliteOptions, report: QueryReport) {
    super(options);
    this.#report = report;
  }

  override query<T>(query: string, params?: unknown[], options?: QueryOptions): Promise<Results<T>> {
    return observed(this.#report, query, () => super.query<T>(query, params, options));
  }

  override exec(query: string, options?: QueryOptions): Promise<Array<Results>> {
    return observed(this.#report, query, () => super.exec(query, options));
  }

  override transaction<T>(callback: (tx: Transaction) => Promise<T>): Promise<T> {
    return super.transaction((tx) => callback(observeTransaction(tx, this.#report)));
  }
}

export interface OpenPgliteOptions {
  dataDir: string | undefined;
  /** A data directory tarball (PGlite's dumpDataDir) to start from instead of initdb: test snapshots. */
  loadDataDir?: Blob | File;
  searchPath: string | undefined;
  report: QueryReport | undefined;
}

export interface OpenedPglite {
  client: PGlite;
  close(): Promise<void>;
}

/** Opens PGlite in a locked data directory, or in memory; any failure releases the lock. */
export async function openPglite(options: OpenPgliteOptions): Promise<OpenedPglite> {
  let lock: DirectoryLock | undefined;
  const pgliteOptions: PGliteOptions = {};
  if (options.dataDir !== undefined) {
    const dataDir = resolve(options.dataDir);
    try {
      mkdirSync(dataDir, { recursive: true });
    } catch (error) {
      throw new DbError('RAMPART_DB_OPEN_FAILED', { detail: `cannot create ${dataDir}`, cause: error });
    }
    lock = lockDirectory(dataDir);
    pgliteOptions.dataDir = dataDir;
  }
  if (options.loadDataDir) pgliteOptions.loadDataDir = options.loadDataDir;

  let client: PGlite | undefined;
  try {
    client = options.report ? new ObservedPGlite(pgliteOptions, options.report) : new PGlite(pgliteOptions);
    await client.waitReady;
    if (options.searchPath !== undefined) await client.exec(`SET search_path TO ${options.searchPath}`);
  } catch (error) {
    await client?.close().catch(() => {});
    lock?.release();
    throw new DbError('RAMPART_DB_OPEN_FAILED', {
      detail: options.dataDir === undefined ? 'in-memory PGlite' : `PGlite in ${options.dataDir}`,
      cause: error,
    });
  }
  const opened = client;
  let closing: Promise<void> | undefined;
  return {
    client: opened,
    close() {
      closing ??= (async () => {
        try {
          if (!opened.closed) await opened.close();
        } finally {
          lock?.release();
        }
      })();
      return closing;
    },
  };
}
