import { createHash } from 'node:crypto';
import type { Database, Queryable } from './create-db.ts';
import { DbError } from './errors.ts';

/** What drizzle's `.prepare(name)` returns, as far as `prepared` needs it. */
interface DrizzlePrepared<TResult> {
  execute(placeholderValues?: Record<string, unknown>): Promise<TResult>;
  getQuery(): { sql: string };
}

/** A drizzle query that can be prepared: a select, insert, update, delete or relational query. */
export interface Preparable<TResult> {
  toSQL(): { sql: string };
  prepare(name: string): DrizzlePrepared<TResult>;
}

export interface PreparedStatement<TSchema extends Record<string, unknown>, TResult> {
  /** `rampart_` and a hash of the SQL text: two different statements never share a name. */
  readonly name: string;
  /** The SQL text, with `$n` for each placeholder. */
  readonly sql: string;
  /**
   * Runs the statement with the placeholders' values: on the database it was prepared on, or inside the
   * transaction `on` (built again on that transaction once, then reused for the rest of it).
   */
  execute(values?: Record<string, unknown>, on?: Queryable<TSchema>): Promise<TResult>;
}

/** Named after the SQL text, so a name always means one text: node-postgres refuses a name reused for another. */
function statementName(text: string): string {
  return `rampart_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`;
}

/**
 * A hot query built once: drizzle renders its SQL when `prepared` is called instead of on every call (the
 * query builder spends 15-110 µs of CPU per call on that), and PostgreSQL parses it once per connection.
 * Write it with drizzle's builder, each value a `sql.placeholder('name')`. Inside a transaction pass the
 * transaction: a statement prepared on the database runs on the pool, outside it.
 *
 * @example
 * const itemById = prepared(db, (q) => q.select().from(items).where(eq(items.id, sql.placeholder('id'))));
 * const [item] = await itemById.execute({ id });
 * await db.transaction(async (tx) => {
 *   const [locked] = await itemById.execute({ id }, tx);
 * });
 */
export function prepared<TSchema extends Record<string, unknown>, TResult>(
  db: Database<TSchema>,
  build: (q: Database<TSchema>) => Preparable<TResult>,
): PreparedStatement<TSchema, TResult> {
  const query = build(db);
  const text = query.toSQL().sql;
  const name = statementName(text);
  const onDatabase = query.prepare(name);
  // Transactions end; a WeakMap lets each one's statement go with it.
  const inTransaction = new WeakMap<Queryable<TSchema>, DrizzlePrepared<TResult>>();
  const onTransaction = (tx: Queryable<TSchema>): DrizzlePrepared<TResult> => {
    let statement = inTransaction.get(tx);
    if (statement === undefined) {
      statement = build(tx as Database<TSchema>).prepare(name);
      // The same name for another text would fail on PostgreSQL, and only on some connections: refuse it here.
      if (statement.getQuery().sql !== text) {
        throw new DbError('RAMPART_DB_OPTIONS_INVALID', {
          detail: `prepared(): build() returned other SQL for a transaction than for the database (${name})`,
        });
      }
      inTransaction.set(tx, statement);
    }
    return statement;
  };
  return {
    name,
    sql: text,
    execute(values, on) {
      const statement = on === undefined || on === db ? onDatabase : onTransaction(on);
      return statement.execute(values);
    },
  };
}
