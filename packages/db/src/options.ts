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
}

export const DB_DEFAULTS = {
  poolSize: 10,
  connectTimeoutMs: 5_000,
  statementTimeoutMs: 30_000,
  idleTimeoutMs: 10_000,
  slowQueryMs: 200,
  applicationName: 'rampart',
} as const;

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
  };
}
