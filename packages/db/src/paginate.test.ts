import { eq, sql } from 'drizzle-orm';
import { integer, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { afterEach, describe, expect, it } from 'vitest';
import { backends } from '../test/backends.ts';
import { paginate } from './paginate.ts';
import { createTestDatabase, type TestDatabase } from './testing/test-database.ts';
import { uuidv7PrimaryKey } from './uuidv7.ts';

const posts = pgTable('posts', {
  id: uuidv7PrimaryKey(),
  author: text('author').notNull(),
  score: integer('score').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
});

describe.each(backends)('paginate on $backend', ({ backend, skip }) => {
  let database: TestDatabase | undefined;
  afterEach(async () => {
    await database?.close();
    database = undefined;
  });

  async function seeded(count: number) {
    database = await createTestDatabase({ backend });
    const { db } = database;
    await db.execute(
      sql`create table posts (id uuid primary key, author text not null, score int not null, created_at timestamptz not null)`,
    );
    const base = Date.UTC(2026, 0, 1);
    // Many ties on score and on created_at, so the unique tie-breaker matters.
    const rows = Array.from({ length: count }, (_, index) => ({
      author: index % 3 === 0 ? 'ada' : 'bob',
      score: index % 4,
      createdAt: new Date(base + Math.floor(index / 5) * 1_000),
    }));
    await db.insert(posts).values(rows);
    return db;
  }

  async function walk(db: TestDatabase['db'], options: Omit<Parameters<typeof paginate>[1], 'after'>) {
    const seen: Array<typeof posts.$inferSelect> = [];
    let after: string | null = null;
    let pages = 0;
    do {
      const page: Awaited<ReturnType<typeof paginate<ReturnType<typeof query>>>> = await paginate(query(), {
        ...options,
        after,
      });
      seen.push(...page.items);
      after = page.nextCursor;
      pages += 1;
    } while (after !== null && pages < 100);
    return { seen, pages };
    function query() {
      return db.select().from(posts).$dynamic();
    }
  }

  it.skipIf(skip)('walks every row exactly once in key order, both directions, with a filter', async () => {
    const db = await seeded(53);
    const all = await db.select().from(posts);
    for (const direction of ['asc', 'desc'] as const) {
      const { seen, pages } = await walk(db, {
        keys: { createdAt: posts.createdAt, score: posts.score, id: posts.id },
        direction,
        limit: 10,
      });
      expect(pages).toBe(6);
      expect(new Set(seen.map((row) => row.id)).size).toBe(53);
      const expected = [...all].sort(
        (a, b) =>
          a.createdAt.getTime() - b.createdAt.getTime() || a.score - b.score || (a.id < b.id ? -1 : 1),
      );
      if (direction === 'desc') expected.reverse();
      expect(seen.map((row) => row.id)).toEqual(expected.map((row) => row.id));
    }
    const filtered = await walk(db, { keys: { id: posts.id }, limit: 7, where: eq(posts.author, 'ada') });
    expect(filtered.seen).toHaveLength(all.filter((row) => row.author === 'ada').length);
    expect(filtered.seen.every((row) => row.author === 'ada')).toBe(true);
  });

  it.skipIf(skip)('returns no cursor on the last page and rejects forged cursors', async () => {
    const db = await seeded(3);
    const page = await paginate(db.select().from(posts).$dynamic(), { keys: { id: posts.id }, limit: 3 });
    expect(page.items).toHaveLength(3);
    expect(page.nextCursor).toBeNull();
    for (const after of [
      '%%%',
      Buffer.from('{"x":1}').toString('base64url'),
      Buffer.from('[1,2]').toString('base64url'),
    ]) {
      await expect(
        paginate(db.select().from(posts).$dynamic(), { keys: { id: posts.id }, limit: 3, after }),
      ).rejects.toMatchObject({ code: 'RAMPART_DB_CURSOR_INVALID', statusCode: 400 });
    }
    await expect(
      paginate(db.select().from(posts).$dynamic(), { keys: { id: posts.id }, limit: 0 }),
    ).rejects.toMatchObject({ code: 'RAMPART_DB_OPTIONS_INVALID' });
  });

  it.skipIf(skip)(
    'refuses a cursor whose values do not fit their columns, before or in the database',
    async () => {
      const db = await seeded(12);
      const keys = { createdAt: posts.createdAt, score: posts.score, id: posts.id };
      const first = await paginate(db.select().from(posts).$dynamic(), { keys, limit: 5 });
      const [date, score, id] = JSON.parse(
        Buffer.from(first.nextCursor as string, 'base64url').toString(),
      ) as [{ d: string }, number, string];
      const forged = (values: unknown[]) => Buffer.from(JSON.stringify(values)).toString('base64url');
      for (const values of [
        [date, score, 'not-a-uuid'],
        [date, score, `${id.slice(0, -1)}\u0000`],
        [date, score, '\ud800'],
        ['yesterday', score, id],
        [1_700_000_000_000, score, id],
        [{ d: 'not a date' }, score, id],
        [{ d: '-271821-04-20T00:00:00.000Z' }, score, id],
        [{ d: '+275760-09-13T00:00:00.000Z' }, score, id],
        [date, 1.5, id],
        [date, 1e308, id],
        [date, '1', id],
        [date, true, id],
        [date, score, null],
        // Fits JavaScript's checks; PostgreSQL refuses it for an int4 column (SQLSTATE 22003).
        [date, 2 ** 40, id],
      ]) {
        await expect(
          paginate(db.select().from(posts).$dynamic(), { keys, limit: 5, after: forged(values) }),
          JSON.stringify(values),
        ).rejects.toMatchObject({ code: 'RAMPART_DB_CURSOR_INVALID', statusCode: 400 });
      }
      // The genuine cursor, re-encoded the same way, still works: the checks refuse only what cannot fit.
      const second = await paginate(db.select().from(posts).$dynamic(), {
        keys,
        limit: 5,
        after: forged([date, score, id]),
      });
      expect(second.items).toHaveLength(5);
      expect(second.items.map((row) => row.id)).not.toContain(first.items.at(-1)?.id);
    },
  );
});
