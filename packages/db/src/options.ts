import { DbError } from './errors.ts';
import type { QueryObserver } from './query-observer.ts';

/** Options of {@link createDb}. With `url` the database is PostgreSQL, otherwise embedded PGlite. */
export interface DbConfig<TSchema extends Record<string, unknown> = Record<string, never>> {
  /** `postgres://user:pass@host:port/db`: use PostgreSQL through a node-postgres pool. */
  url?: string;
  /** PGlite data directory (created if missing). Omit both `url` and `dataDir` for an in-memory PGlite. */
  dataDir?: string;
  /** Drizzle schema (tables and relations) for `db.query.*`. */
  schema?: TSchema;
  /** PostgreSQL pool size. */
  poolSize?: number;
  /** How long start-up and each pool checkout may wait for a connection. */
  connectTimeoutMs?: number;
  /** Server-side `statement_timeout` for every PostgreSQL connection; 0 disables it. PGlite ignores it. */
  statementTimeoutMs?: number;
  /** Idle PostgreSQL connections are closed after this long. */
  idleTimeoutMs?: number;
  /** Queries at or above this duration are reported with `slow: true`. */
  slowQueryMs?: number;
  /** Receives every query's duration and outcome. */
  observer?: QueryObserver;
  /** Schema search path for every connection (e.g. one schema per test). */
  searchPath?: string;
  /** Reported to PostgreSQL as `application_name`. */
  applicationName?: string;
  /** Errors of idle pooled connections (the pool replaces them); the process never crashes on them. */
  onError?: (error: Error) => void;
  /** PGlite only (ignored with `url`): memory and WAL settings of the embedded server. */
  pglite?: PgliteConfig;
}

/** Settings of the embedded PGlite server; see the README's "PGlite settings" for the measured trade-offs. */
export interface PgliteConfig {
  /**
   * `shared_buffers` in MB. PGlite zeroes all of PostgreSQL's shared memory on every open, so this is paid
   * at start-up in time and resident memory; pages beyond it are read from the file system cache.
   */
  sharedBuffersMb?: number;
  /**
   * WAL segment size in MB (a power of two, 1 to 1024) for data directories this open creates (initdb).
   * An existing directory keeps the size it was created with.
   */
  walSegmentMb?: number;
  /** More server settings (`name: value`), passed as `-c name=value` at start-up, e.g. `{ work_mem: '16MB' }`. */
  settings?: Readonly<Record<string, string | number | boolean>>;
}

export const DB_DEFAULTS = {
  poolSize: 10,
  connectTimeoutMs: 5_000,
  statementTimeoutMs: 30_000,
  idleTimeoutMs: 10_000,
  slowQueryMs: 200,
  applicationName: 'rampart',
  pglite: {
    sharedBuffersMb: 16,
    walSegmentMb: 1,
  },
} as const;

export interface NormalizedPgliteConfig {
  sharedBuffersMb: number;
  walSegmentMb: number;
  settings: ReadonlyArray<readonly [name: string, value: string]>;
}

export interface NormalizedDbConfig<TSchema extends Record<string, unknown>> {
  url: string | undefined;
  dataDir: string | undefined;
  schema: TSchema | undefined;
  poolSize: number;
  connectTimeoutMs: number;
  statementTimeoutMs: number;
  idleTimeoutMs: number;
  slowQueryMs: number;
  observer: QueryObserver | undefined;
  searchPath: string | undefined;
  applicationName: string;
  onError: (error: Error) => void;
  pglite: NormalizedPgliteConfig;
}

function integer(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new DbError('RAMPART_DB_OPTIONS_INVALID', {
      detail: `${name} must be an integer from ${min} to ${max}, got ${String(value)}`,
    });
  }
  return value;
}

function text(name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim() === '') {
    throw new DbError('RAMPART_DB_OPTIONS_INVALID', { detail: `${name} must be a non-empty string` });
  }
  return value;
}

// Settings with an option of their own, or that PGlite's single-user server depends on.
const OWNED_SETTINGS: Record<string, string> = {
  shared_buffers: 'use pglite.sharedBuffersMb',
  wal_segment_size: 'use pglite.walSegmentMb (it is fixed when a directory is created)',
  search_path: 'use searchPath',
  exit_on_error: 'PGlite needs it off',
  io_method: 'PGlite needs io_method=sync',
};

function invalid(detail: string): DbError {
  return new DbError('RAMPART_DB_OPTIONS_INVALID', { detail });
}

/** Applies the PGlite defaults; the server itself still checks each setting's value when it starts. */
export function normalizePgliteConfig(config: PgliteConfig | undefined): NormalizedPgliteConfig {
  if (config !== undefined && (typeof config !== 'object' || config === null)) {
    throw invalid('pglite must be an object');
  }
  const defaults = DB_DEFAULTS.pglite;
  const sharedBuffersMb = integer(
    'pglite.sharedBuffersMb',
    config?.sharedBuffersMb ?? defaults.sharedBuffersMb,
    1,
    1_024,
  );
  const walSegmentMb = integer(
    'pglite.walSegmentMb',
    config?.walSegmentMb ?? defaults.walSegmentMb,
    1,
    1_024,
  );
  if ((walSegmentMb & (walSegmentMb - 1)) !== 0) {
    throw invalid(`pglite.walSegmentMb must be a power of two, got ${walSegmentMb}`);
  }
  const raw = config?.settings ?? {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw invalid('pglite.settings must be an object of name: value');
  }
  const settings: Array<readonly [string, string]> = [];
  for (const [name, value] of Object.entries(raw)) {
    if (!/^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$/i.test(name)) {
      throw invalid(`pglite.settings: ${JSON.stringify(name)} is not a setting name`);
    }
    const owned = OWNED_SETTINGS[name.toLowerCase()];
    if (owned !== undefined) throw invalid(`pglite.settings.${name}: ${owned}`);
    const ok =
      typeof value === 'boolean' ||
      (typeof value === 'number' && Number.isFinite(value)) ||
      (typeof value === 'string' && value !== '' && !/[\0\n\r]/.test(value));
    if (!ok) throw invalid(`pglite.settings.${name} must be a finite number, a boolean or a one-line string`);
    settings.push([name, String(value)]);
  }
  return { sharedBuffersMb, walSegmentMb, settings };
}

/** Applies {@link DB_DEFAULTS} and rejects anything invalid with RAMPART_DB_OPTIONS_INVALID. */
export function normalizeDbConfig<TSchema extends Record<string, unknown>>(
  config: DbConfig<TSchema>,
): NormalizedDbConfig<TSchema> {
  if (typeof config !== 'object' || config === null) {
    throw new DbError('RAMPART_DB_OPTIONS_INVALID', { detail: 'config must be an object' });
  }
  const url = text('url', config.url);
  const dataDir = text('dataDir', config.dataDir);
  if (url !== undefined && dataDir !== undefined) {
    throw new DbError('RAMPART_DB_OPTIONS_INVALID', {
      detail: 'give either url (PostgreSQL) or dataDir (PGlite), not both',
    });
  }
  const searchPath = text('searchPath', config.searchPath);
  if (searchPath !== undefined && !/^[a-z_][a-z0-9_$]*(\s*,\s*[a-z_][a-z0-9_$]*)*$/i.test(searchPath)) {
    throw new DbError('RAMPART_DB_OPTIONS_INVALID', {
      detail: 'searchPath must be a comma-separated list of plain schema names',
    });
  }
  if (config.observer !== undefined && typeof config.observer?.onQuery !== 'function') {
    throw new DbError('RAMPART_DB_OPTIONS_INVALID', {
      detail: 'observer must have an onQuery(event) method',
    });
  }
  if (config.onError !== undefined && typeof config.onError !== 'function') {
    throw new DbError('RAMPART_DB_OPTIONS_INVALID', { detail: 'onError must be a function' });
  }
  return {
    url,
    dataDir,
    schema: config.schema,
    poolSize: integer('poolSize', config.poolSize ?? DB_DEFAULTS.poolSize, 1, 1_000),
    connectTimeoutMs: integer(
      'connectTimeoutMs',
      config.connectTimeoutMs ?? DB_DEFAULTS.connectTimeoutMs,
      1,
      600_000,
    ),
    statementTimeoutMs: integer(
      'statementTimeoutMs',
      config.statementTimeoutMs ?? DB_DEFAULTS.statementTimeoutMs,
      0,
      86_400_000,
    ),
    idleTimeoutMs: integer('idleTimeoutMs', config.idleTimeoutMs ?? DB_DEFAULTS.idleTimeoutMs, 0, 86_400_000),
    slowQueryMs: integer('slowQueryMs', config.slowQueryMs ?? DB_DEFAULTS.slowQueryMs, 0, 86_400_000),
    observer: config.observer,
    searchPath,
    applicationName: text('applicationName', config.applicationName) ?? DB_DEFAULTS.applicationName,
    onError: config.onError ?? (() => {}),
    pglite: normalizePgliteConfig(config.pglite),
  };
}
