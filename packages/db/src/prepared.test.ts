import { eq, sql } from 'drizzle-orm';
import { integer, pgTable, text, uuid } from 'drizzle-orm/pg-core';
import type pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { backends } from '../test/backends.ts';
import type { Database } from './create-db.ts';
import { isDbError } from './errors.ts';
import { prepared } from './prepared.ts';
import type { QueryEvent } from './query-observer.ts';
import { createTestDatabase, type TestDatabase } from './testing/test-database.ts';
import { uuidv7 } from './uuidv7.ts';

const items = pgTable('items', {
  id: uuid('id').primaryKey(),
  name: text('name').notNull(),
  n: integer('n').notNull(),
});

const CREATE = sql`create table items (id uuid primary key, name text not null, n integer not null)`;

/** The two statements most tests run: an insert and a select by primary key. */
function itemStatements(db: Database) {
  return {
    insert: prepared(db, (q) =>
      q
        .insert(items)
        .values({ id: sql.placeholder('id'), name: sql.placeholder('name'), n: sql.placeholder('n') }),
    ),
    byId: prepared(db, (q) =>
      q
        .select()
        .from(items)
        .where(eq(items.id, sql.placeholder('id'))),
    ),
  };
}

describe.each(backends)('prepared on $backend', ({ backend, skip }) => {
  let database: TestDatabase | undefined;
  afterEach(async () => {
    await database?.close();
    database = undefined;
  });

  async function open(observer?: (event: QueryEvent) => void) {
    database = await createTestDatabase({
      backend,
      ...(observer ? { observer: { onQuery: observer } } : {}),
    });
    await database.db.execute(CREATE);
    const { db } = database;
    return { db, ...itemStatements(db) };
  }

  it.skipIf(skip)('runs with placeholder values and maps rows like the query builder', async () => {
    const events: QueryEvent[] = [];
    const { db, insert, byId } = await open((event) => events.push(event));
    const id = uuidv7();
    await insert.execute({ id, name: 'first', n: 1 });

    const rows = await byId.execute({ id });
    expect(rows).toEqual([{ id, name: 'first', n: 1 }]);
    expect(rows).toEqual(await db.select().from(items).where(eq(items.id, id)));
    expect(await byId.execute({ id: uuidv7() })).toEqual([]);
    // The observer sees the statement's text, never its values.
    expect(events.filter((event) => event.sql === byId.sql)).toHaveLength(3);
    expect(events.some((event) => event.sql.includes('first'))).toBe(false);
  });

  it.skipIf(skip)('names each statement after its SQL text', async () => {
    const { db, insert, byId } = await open();
    expect(byId.name).toMatch(/^rampart_[0-9a-f]{24}$/);
    expect(byId.sql).toBe('select "id", "name", "n" from "items" where "items"."id" = $1');
    expect(insert.name).not.toBe(byId.name);
    const again = prepared(db, (q) =>
      q
        .select()
        .from(items)
        .where(eq(items.id, sql.placeholder('id'))),
    );
    expect(again.name).toBe(byId.name);
    const other = prepared(db, (q) =>
      q
        .select()
        .from(items)
        .where(eq(items.n, sql.placeholder('n'))),
    );
    expect(other.name).not.toBe(byId.name);
  });

  it.skipIf(skip)('runs inside the transaction it is given, and is rolled back with it', async () => {
    const { db, insert, byId } = await open();
    const id = uuidv7();
    await expect(
      db.transaction(async (tx) => {
        await insert.execute({ id, name: 'in tx', n: 2 }, tx);
        expect(await byId.execute({ id }, tx)).toEqual([{ id, name: 'in tx', n: 2 }]);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(await byId.execute({ id })).toEqual([]);

    await db.transaction(async (tx) => {
      await insert.execute({ id, name: 'committed', n: 3 }, tx);
    });
    expect(await byId.execute({ id })).toEqual([{ id, name: 'committed', n: 3 }]);
  });

  it.skipIf(skip)(
    'builds once per transaction and refuses a build that gives a transaction other SQL',
    async () => {
      const { db } = await open();
      let builds = 0;
      const counted = prepared(db, (q) => {
        builds += 1;
        return q
          .select()
          .from(items)
          .where(eq(items.id, sql.placeholder('id')));
      });
      await db.transaction(async (tx) => {
        await counted.execute({ id: uuidv7() }, tx);
        await counted.execute({ id: uuidv7() }, tx);
      });
      expect(builds).toBe(2); // once on the database, once in the transaction

      const shifty = prepared(db, (q) =>
        q === db
          ? q
              .select()
              .from(items)
              .where(eq(items.id, sql.placeholder('id')))
          : q
              .select()
              .from(items)
              .where(eq(items.name, sql.placeholder('id'))),
      );
      const failure = await db
        .transaction((tx) => shifty.execute({ id: uuidv7() }, tx))
        .then(
          () => undefined,
          (error: unknown) => error,
        );
      expect(isDbError(failure, 'RAMPART_DB_OPTIONS_INVALID')).toBe(true);
    },
  );
});

describe.skipIf(backends[1]!.skip)('prepared on PostgreSQL', () => {
  let database: TestDatabase | undefined;
  afterEach(async () => {
    await database?.close();
    database = undefined;
  });

  it('is a named server-side statement, parsed once per connection and reused', async () => {
    database = await createTestDatabase({ backend: 'postgresql' });
    const { db } = database;
    await db.execute(CREATE);
    const { byId } = itemStatements(db);
    const runs = 40;
    await Promise.all(Array.from({ length: runs }, () => byId.execute({ id: uuidv7() })));

    // Hold every connection of the pool at once and read each one's prepared statements.
    const pool = (db as unknown as { $client: pg.Pool }).$client;
    const clients = await Promise.all(Array.from({ length: pool.options.max }, () => pool.connect()));
    try {
      const rows = (
        await Promise.all(
          clients.map((client) =>
            client.query<{ statement: string; executions: string }>(
              'select statement, generic_plans + custom_plans as executions from pg_prepared_statements where name = $1',
              [byId.name],
            ),
          ),
        )
      ).flatMap((result) => result.rows);
      expect(rows.length).toBeGreaterThan(0);
      for (const row of rows) expect(row.statement).toBe(byId.sql);
      // Every run executed the one statement its connection had parsed: none was parsed again unnamed.
      expect(rows.reduce((sum, row) => sum + Number(row.executions), 0)).toBe(runs);
    } finally {
      for (const client of clients) client.release();
    }
  });

  it('does not see the transaction when it is not given it (so hot paths in transactions must pass tx)', async () => {
    database = await createTestDatabase({ backend: 'postgresql' });
    const { db } = database;
    await db.execute(CREATE);
    const { insert, byId } = itemStatements(db);
    const id = uuidv7();
    await db.transaction(async (tx) => {
      await insert.execute({ id, name: 'uncommitted', n: 1 }, tx);
      expect(await byId.execute({ id }, tx)).toHaveLength(1);
      expect(await byId.execute({ id })).toHaveLength(0); // another connection: outside the transaction
    });
  });
});
