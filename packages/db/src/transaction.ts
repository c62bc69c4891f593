import type { PgTransactionConfig } from 'drizzle-orm/pg-core';
import type { Database, Transaction } from './create-db.ts';
import { DbError } from './errors.ts';

/** SQLSTATEs after which running the whole transaction again is safe and expected to succeed. */
const RETRYABLE = new Set(['40001', '40P01']); // serialization_failure, deadlock_detected

export interface TransactionOptions extends PgTransactionConfig {
  /** Attempts in total for serialization failures and deadlocks. Default 3; 1 disables retrying. */
  maxAttempts?: number;
  /** Base of the jittered exponential pause between attempts. Default 10 ms. */
  retryDelayMs?: number;
}

export const TRANSACTION_DEFAULTS = { maxAttempts: 3, retryDelayMs: 10 } as const;

/** The SQLSTATE anywhere in an error's cause chain (drizzle wraps driver errors). */
export function sqlState(error: unknown): string | undefined {
  for (let current = error, depth = 0; current && depth < 10; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Runs `work` in a drizzle transaction and runs it again, from the start, when PostgreSQL aborts it with
 * a serialization failure or a deadlock; gives up with RAMPART_DB_TRANSACTION_CONFLICT. `work` must be
 * safe to repeat (no outside side effects before commit).
 *
 * @example
 * await transaction(db, async (tx) => { ... }, { isolationLevel: 'serializable' });
 */
export async function transaction<TSchema extends Record<string, unknown>, T>(
  db: Database<TSchema>,
  work: (tx: Transaction<TSchema>) => Promise<T>,
  options: TransactionOptions = {},
): Promise<T> {
  const {
    maxAttempts = TRANSACTION_DEFAULTS.maxAttempts,
    retryDelayMs = TRANSACTION_DEFAULTS.retryDelayMs,
    ...config
  } = options;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || !(retryDelayMs >= 0)) {
    throw new DbError('RAMPART_DB_OPTIONS_INVALID', {
      detail: 'maxAttempts must be an integer >= 1 and retryDelayMs >= 0',
    });
  }
  for (let attempt = 1; ; attempt += 1) {
    try {
      // An empty config would make drizzle send a bare `set transaction` (a syntax error on PGlite).
      return await db.transaction(work, Object.keys(config).length > 0 ? config : undefined);
    } catch (error) {
      const state = sqlState(error);
      if (state === undefined || !RETRYABLE.has(state)) throw error;
      if (attempt >= maxAttempts) {
        throw new DbError('RAMPART_DB_TRANSACTION_CONFLICT', {
          detail: `SQLSTATE ${state} after ${attempt} attempts`,
          cause: error,
        });
      }
      const pause = retryDelayMs * 2 ** (attempt - 1) * (0.5 + Math.random());
      await new Promise((done) => setTimeout(done, pause));
    }
  }
}
