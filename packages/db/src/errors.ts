/**
 * Every error this package raises, with its HTTP status and a message of our own. Codes are stable and never
 * reused: callers and tests identify errors by `code`, never by message or class.
 */
export const DB_ERRORS = {
  RAMPART_DB_OPTIONS_INVALID: { status: 500, message: 'invalid @rampart/db options' },
  RAMPART_DB_URL_INVALID: { status: 500, message: 'the database URL is malformed' },
  RAMPART_DB_AUTH_FAILED: { status: 503, message: 'the database rejected the credentials' },
  RAMPART_DB_UNREACHABLE: { status: 503, message: 'the database server cannot be reached' },
  RAMPART_DB_CONNECT_TIMEOUT: {
    status: 503,
    message: 'the database did not accept a connection within the connect timeout',
  },
  RAMPART_DB_DIRECTORY_LOCKED: {
    status: 503,
    message: 'the PGlite data directory is in use by another process',
  },
  RAMPART_DB_OPEN_FAILED: { status: 503, message: 'the database could not be opened' },
  RAMPART_DB_CLOSED: { status: 500, message: 'the database was already closed' },
  RAMPART_DB_PING_TIMEOUT: { status: 503, message: 'the database did not answer the ping in time' },
  RAMPART_DB_PING_FAILED: { status: 503, message: 'the database ping failed' },
  RAMPART_DB_MIGRATIONS_NOT_FOUND: {
    status: 500,
    message: 'the migrations folder has no drizzle-kit journal (meta/_journal.json)',
  },
  RAMPART_DB_MIGRATION_FAILED: { status: 500, message: 'a migration failed and was rolled back' },
  RAMPART_DB_MIGRATION_LOCKED: {
    status: 503,
    message: 'another migrator held the migration lock for longer than the lock timeout',
  },
  RAMPART_DB_TRANSACTION_CONFLICT: {
    status: 409,
    message: 'the transaction kept conflicting with concurrent ones and gave up',
  },
  RAMPART_DB_CURSOR_INVALID: { status: 400, message: 'the pagination cursor is malformed' },
  RAMPART_DB_AUDIT_ENTRY_INVALID: { status: 500, message: 'the audit entry is invalid' },
  RAMPART_DB_SERVICE_MISSING: {
    status: 500,
    message: 'a test service variable is unset while CI=true (CI must never skip silently)',
  },
} as const satisfies Record<string, { status: number; message: string }>;

export type DbErrorCode = keyof typeof DB_ERRORS;

/** The error class behind every code above. Identify it by `code`, not `instanceof`. */
export class DbError extends Error {
  readonly code: DbErrorCode;
  readonly statusCode: number;

  constructor(code: DbErrorCode, options: { detail?: string; cause?: unknown } = {}) {
    const entry = DB_ERRORS[code];
    super(options.detail ? `${entry.message}: ${options.detail}` : entry.message, { cause: options.cause });
    this.name = 'DbError';
    this.code = code;
    this.statusCode = entry.status;
  }
}

/** True for any error carrying one of this package's codes, optionally a given one (works across copies). */
export function isDbError(error: unknown, code?: DbErrorCode): error is DbError {
  if (typeof error !== 'object' || error === null) return false;
  const actual = (error as { code?: unknown }).code;
  if (typeof actual !== 'string' || !Object.hasOwn(DB_ERRORS, actual)) return false;
  return code === undefined || actual === code;
}
