import { and, type SQL, sql } from 'drizzle-orm';
import type { PgColumn, PgSelect } from 'drizzle-orm/pg-core';
import { DbError } from './errors.ts';

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

function decode(cursor: string, count: number): unknown[] {
  let parsed: unknown;
  try {
    if (!/^[A-Za-z0-9_-]{1,4096}$/.test(cursor)) throw new Error('not base64url');
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch (error) {
    throw new DbError('RAMPART_DB_CURSOR_INVALID', { detail: 'not a cursor of this API', cause: error });
  }
  if (!Array.isArray(parsed) || parsed.length !== count) {
    throw new DbError('RAMPART_DB_CURSOR_INVALID', { detail: 'the cursor does not match the sort key' });
  }
  return parsed.map((value: unknown) => {
    if (typeof value === 'string' || typeof value === 'boolean') return value;
    if (typeof value === 'number' && Number.isFinite(value)) return value;
    if (typeof value === 'object' && value !== null && typeof (value as { d?: unknown }).d === 'string') {
      const date = new Date((value as { d: string }).d);
      if (!Number.isNaN(date.getTime())) return date;
    }
    throw new DbError('RAMPART_DB_CURSOR_INVALID', { detail: 'a cursor value has the wrong type' });
  });
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
    const values = decode(options.after, entries.length);
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
  const rows = (await query
    .where(conditions.length > 0 ? and(...conditions) : undefined)
    .orderBy(...order)
    .limit(options.limit + 1)) as Awaited<TQuery>[number][];
  const items = rows.slice(0, options.limit);
  const last = items.at(-1) as Record<string, unknown> | undefined;
  const nextCursor =
    rows.length > options.limit && last !== undefined ? encode(entries.map(([field]) => last[field])) : null;
  return { items, nextCursor };
}
