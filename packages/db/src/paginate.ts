import { and, type SQL, sql } from 'drizzle-orm';
import type { PgColumn, PgSelect } from 'drizzle-orm/pg-core';
import { DbError } from './errors.ts';
import { sqlState } from './transaction.ts';

export interface PageOptions {
  /**
   * The sort key, most significant first, keyed by each column's field name in the selected rows. The last
   * key must be unique (e.g. `id`), and none may be nullable, so every row has exactly one position.
   */
  keys: Record<string, PgColumn>;
  direction?: 'asc' | 'desc';
  /** Rows per page, 1 to 1000. */
  limit: number;
  /** The `nextCursor` of the previous page; omit (or null) for the first page. */
  after?: string | null;
  /** The caller's filter (a dynamic query's `.where()` replaces, so pass it here instead). */
  where?: SQL | undefined;
}

export interface Page<TRow> {
  items: TRow[];
  /** Opaque cursor for the next page, or null on the last page. */
  nextCursor: string | null;
}

type CursorValue = string | number | boolean | { d: string };

function encode(values: unknown[]): string {
  const tagged = values.map((value): CursorValue => {
    if (value instanceof Date) return { d: value.toISOString() };
    if (typeof value === 'bigint') return value.toString();
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
    throw new DbError('RAMPART_DB_CURSOR_INVALID', { detail: `a sort key value is ${typeof value}` });
  });
  return Buffer.from(JSON.stringify(tagged)).toString('base64url');
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const INTEGER_COLUMNS = new Set([
  'PgInteger',
  'PgSmallInt',
  'PgSerial',
  'PgSmallSerial',
  'PgBigInt53',
  'PgBigSerial53',
]);
/**
 * Dates reach PostgreSQL as `toISOString()`, which writes years outside 0–9999 as `+275760` or `-000001`, a
 * form PostgreSQL does not read; year 0 does not exist in it either.
 */
const YEARS = { first: 1, last: 9999 } as const;

function invalid(detail: string, cause?: unknown): DbError {
  return new DbError('RAMPART_DB_CURSOR_INVALID', { detail, ...(cause === undefined ? {} : { cause }) });
}

/**
 * A cursor's values, each checked against the column it is compared with: a cursor is client input (it
 * comes back in a query string), so a tampered one must be refused here, not reach the database as a value
 * of the wrong type (a TypeError in drizzle's encoding, or an error from PostgreSQL: a 500 either way).
 */
function decode(cursor: string, columns: readonly PgColumn[]): unknown[] {
  let parsed: unknown;
  try {
    if (!/^[A-Za-z0-9_-]{1,4096}$/.test(cursor)) throw new Error('not base64url');
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch (error) {
    throw invalid('not a cursor of this API', error);
  }
  if (!Array.isArray(parsed) || parsed.length !== columns.length) {
    throw invalid('the cursor does not match the sort key');
  }
  return parsed.map((value: unknown, index) => {
    const decoded = valueFor(columns[index] as PgColumn, value);
    if (decoded === undefined) throw invalid(`cursor value ${index + 1} does not fit its column`);
    return decoded;
  });
}

/** The value to bind for `column`, or undefined when `value` cannot be one of its values. */
function valueFor(column: PgColumn, value: unknown): unknown {
  switch (column.dataType) {
    case 'date': {
      const text = (value as { d?: unknown } | null)?.d;
      if (typeof value !== 'object' || typeof text !== 'string') return undefined;
      const date = new Date(text);
      const year = date.getUTCFullYear();
      return Number.isNaN(year) || year < YEARS.first || year > YEARS.last ? undefined : date;
    }
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) return undefined;
      return INTEGER_COLUMNS.has(column.columnType) && !Number.isSafeInteger(value) ? undefined : value;
    case 'bigint':
      return typeof value === 'string' && /^-?\d+$/.test(value) ? value : undefined;
    case 'boolean':
      return typeof value === 'boolean' ? value : undefined;
    case 'string':
      if (typeof value !== 'string' || value.includes('\0') || !value.isWellFormed()) return undefined;
      return column.columnType === 'PgUUID' && !UUID.test(value) ? undefined : value;
    default:
      // Other column types get what encode() writes; PostgreSQL's own check is the net (see paginate).
      return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
        ? value
        : undefined;
  }
}

/** SQLSTATE class 22, data exception: a value PostgreSQL cannot take as its column's type (or out of range). */
function isDataException(error: unknown): boolean {
  return sqlState(error)?.startsWith('22') ?? false;
}

/**
 * Keyset (cursor) pagination over a dynamic drizzle select: `where (k1, k2) > (v1, v2) order by k1, k2
 * limit n`, so page N costs what page 1 costs (an index on the keys serves it) and rows inserted meanwhile
 * never shift a page.
 *
 * @example
 * const page = await paginate(db.select().from(items).$dynamic(), {
 *   keys: { createdAt: items.createdAt, id: items.id }, direction: 'desc', limit: 20, after: cursor,
 * });
 */
export async function paginate<TQuery extends PgSelect>(
  query: TQuery,
  options: PageOptions,
): Promise<Page<Awaited<TQuery>[number]>> {
  const entries = Object.entries(options.keys);
  const direction = options.direction ?? 'asc';
  if (entries.length === 0 || (direction !== 'asc' && direction !== 'desc')) {
    throw new DbError('RAMPART_DB_OPTIONS_INVALID', { detail: 'paginate needs keys and direction asc|desc' });
  }
  if (!Number.isInteger(options.limit) || options.limit < 1 || options.limit > 1_000) {
    throw new DbError('RAMPART_DB_OPTIONS_INVALID', { detail: 'limit must be an integer from 1 to 1000' });
  }
  const conditions: SQL[] = [];
  if (options.where) conditions.push(options.where);
  if (options.after) {
    const values = decode(
      options.after,
      entries.map(([, column]) => column),
    );
    const columns = sql.join(
      entries.map(([, column]) => sql`${column}`),
      sql`, `,
    );
    // Each value is bound through its column, so dates, numbers and uuids take the column's own encoding.
    const bound = sql.join(
      entries.map(([, column], index) => sql.param(values[index], column)),
      sql`, `,
    );
    conditions.push(direction === 'asc' ? sql`(${columns}) > (${bound})` : sql`(${columns}) < (${bound})`);
  }
  const order = entries.map(([, column]) => (direction === 'asc' ? sql`${column} asc` : sql`${column} desc`));
  let rows: Awaited<TQuery>[number][];
  try {
    rows = (await query
      .where(conditions.length > 0 ? and(...conditions) : undefined)
      .orderBy(...order)
      .limit(options.limit + 1)) as Awaited<TQuery>[number][];
  } catch (error) {
    // A value that passed the checks above and PostgreSQL still refuses (a text timestamp column's string,
    // a number outside an int4 column's range): the cursor's fault, so the client's 400, not a 500.
    if (options.after && isDataException(error))
      throw invalid('a cursor value does not fit its column', error);
    throw error;
  }
  const items = rows.slice(0, options.limit);
  const last = items.at(-1) as Record<string, unknown> | undefined;
  const nextCursor =
    rows.length > options.limit && last !== undefined ? encode(entries.map(([field]) => last[field])) : null;
  return { items, nextCursor };
}
