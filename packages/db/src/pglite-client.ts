import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import {
  PGlite,
  type PGliteOptions,
  type QueryOptions,
  type Results,
  type Transaction,
} from '@electric-sql/pglite';
import { type DirectoryLock, lockDirectory } from './directory-lock.ts';
import { DbError } from './errors.ts';
import type { NormalizedPgliteConfig } from './options.ts';
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
  loadDataDir?: Uint8Array;
  searchPath: string | undefined;
  report: QueryReport | undefined;
  settings: NormalizedPgliteConfig;
}

/**
 * PGlite's own start parameters (kept: a custom list replaces them) plus ours; a later `-c` wins, so user
 * settings come last. initdb only runs for a directory (or in-memory database) that has none yet.
 */
export function pgliteStartOptions(
  settings: NormalizedPgliteConfig,
): Pick<PGliteOptions, 'startParams' | 'initDbStartParams'> {
  return {
    startParams: [
      ...PGlite.defaultStartParams,
      '-c',
      `shared_buffers=${settings.sharedBuffersMb}MB`,
      ...settings.settings.flatMap(([name, value]) => ['-c', `${name}=${value}`]),
    ],
    initDbStartParams: [`--wal-segsize=${settings.walSegmentMb}`],
  };
}

/**
 * A Blob over bytes we already hold. Node's Blob.arrayBuffer() assembles its result chunk by chunk (about
 * 0.3 s of CPU for a 30 MB snapshot, measured); PGlite (0.5) only calls arrayBuffer() on loadDataDir and
 * copies each file out of it into its in-memory file system, so it gets the bytes themselves: no copy.
 */
class BytesBlob extends Blob {
  readonly #bytes: Uint8Array;
  override readonly size: number;

  constructor(bytes: Uint8Array) {
    super([]);
    this.#bytes = bytes;
    this.size = bytes.byteLength;
  }

  override arrayBuffer(): Promise<ArrayBuffer> {
    const bytes = this.#bytes;
    const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
    return Promise.resolve(
      whole && bytes.buffer instanceof ArrayBuffer ? bytes.buffer : bytes.slice().buffer,
    );
  }
}

export interface OpenedPglite {
  client: PGlite;
  close(): Promise<void>;
}

/**
 * `mkdir -p`, one level at a time: Node's recursive mkdirSync spins forever (100% CPU, deaf to SIGTERM)
 * where a parent cannot hold directories, e.g. under /proc. Throws the first level's own error.
 */
function makeDirectory(path: string): void {
  const missing: string[] = [];
  let current = path;
  while (!existsSync(current)) {
    missing.push(current);
    const parent = dirname(current);
    if (parent === current) break;
    current = parent;
  }
  if (missing.length === 0 && !statSync(path).isDirectory()) {
    throw Object.assign(new Error('a file, not a directory, is in the way'), { code: 'ENOTDIR' });
  }
  for (const directory of missing.reverse()) mkdirSync(directory);
}

/** Why a file system call failed, in a few words and its code, for an error message. */
function reason(error: unknown): string {
  const { code, message } = error as { code?: unknown; message?: unknown };
  const text = typeof message === 'string' ? message.replace(/^[A-Z]+: /, '') : String(error);
  return typeof code === 'string' && !text.startsWith(code) ? `${code}: ${text}` : text;
}

/** Opens PGlite in a locked data directory, or in memory; any failure releases the lock. */
export async function openPglite(options: OpenPgliteOptions): Promise<OpenedPglite> {
  let lock: DirectoryLock | undefined;
  // PostgreSQL reports why it refused to start (a bad setting, a damaged directory) on stderr only.
  const fatal: string[] = [];
  let opening = true;
  const pgliteOptions: PGliteOptions = {
    ...pgliteStartOptions(options.settings),
    onStderr(line) {
      if (opening && /\b(FATAL|PANIC|ERROR):/.test(line) && fatal.push(line) > 3) fatal.shift();
      return false;
    },
  };
  if (options.dataDir !== undefined) {
    const dataDir = resolve(options.dataDir);
    try {
      makeDirectory(dataDir);
    } catch (error) {
      throw new DbError('RAMPART_DB_OPEN_FAILED', {
        detail: `cannot create the data directory ${dataDir} (${reason(error)})`,
        cause: error,
      });
    }
    try {
      lock = lockDirectory(dataDir);
    } catch (error) {
      if (error instanceof DbError) throw error;
      throw new DbError('RAMPART_DB_OPEN_FAILED', {
        detail: `cannot lock the data directory ${dataDir} (${reason(error)})`,
        cause: error,
      });
    }
    pgliteOptions.dataDir = dataDir;
  }
  if (options.loadDataDir) pgliteOptions.loadDataDir = new BytesBlob(options.loadDataDir);

  let client: PGlite | undefined;
  try {
    client = options.report ? new ObservedPGlite(pgliteOptions, options.report) : new PGlite(pgliteOptions);
    await client.waitReady;
    if (options.searchPath !== undefined) await client.exec(`SET search_path TO ${options.searchPath}`);
  } catch (error) {
    await client?.close().catch(() => {});
    lock?.release();
    const where = options.dataDir === undefined ? 'in-memory PGlite' : `PGlite in ${options.dataDir}`;
    const why = fatal.map((line) => line.replace(/^.*?\b(FATAL|PANIC|ERROR):\s*/, '')).join('; ');
    throw new DbError('RAMPART_DB_OPEN_FAILED', {
      detail: why === '' ? where : `${where}: ${why}`,
      cause: error,
    });
  } finally {
    opening = false;
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
