import { sql } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { backends } from '../test/backends.ts';
import { createTestDatabase, type TestDatabase } from './testing/test-database.ts';
import { sqlState, transaction } from './transaction.ts';

// A real SQLSTATE 40001 raised by the server itself, on PGlite and PostgreSQL alike.
const serializationFailure = sql`do $$ begin raise exception 'conflict' using errcode = '40001'; end $$`;

describe.each(backends)('transaction on $backend', ({ backend, skip }) => {
  let database: TestDatabase | undefined;
  afterEach(async () => {
    await database?.close();
    database = undefined;
  });

  async function open(): Promise<TestDatabase> {
    database = await createTestDatabase({ backend });
    await database.db.execute(sql`create table counters (name text primary key, value int not null)`);
    await database.db.execute(sql`insert into counters values ('a', 0)`);
    return database;
  }
  const counterValue = async (db: TestDatabase['db']) =>
    (await db.execute<{ value: number }>(sql`select value from counters where name = 'a'`)).rows[0]?.value;

  it.skipIf(skip)('commits on success and rolls back on error', async () => {
    const { db } = await open();
    await transaction(db, async (tx) => {
      await tx.execute(sql`update counters set value = value + 1`);
    });
    await expect(
      transaction(db, async (tx) => {
        await tx.execute(sql`update counters set value = value + 100`);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await counterValue(db)).toBe(1);
  });

  it.skipIf(skip)('runs the work again after a serialization failure, from a clean slate', async () => {
    const { db } = await open();
    let attempts = 0;
    const result = await transaction(
      db,
      async (tx) => {
        attempts += 1;
        await tx.execute(sql`update counters set value = value + 1`);
        if (attempts < 3) await tx.execute(serializationFailure);
        return 'done';
      },
      { maxAttempts: 3, retryDelayMs: 1 },
    );
    expect(result).toBe('done');
    expect(attempts).toBe(3);
    expect(await counterValue(db)).toBe(1);
  });

  it.skipIf(skip)(
    'gives up with RAMPART_DB_TRANSACTION_CONFLICT and never retries other errors',
    async () => {
      const { db } = await open();
      let attempts = 0;
      const error = await transaction(
        db,
        async (tx) => {
          attempts += 1;
          await tx.execute(serializationFailure);
        },
        { maxAttempts: 2, retryDelayMs: 1 },
      ).catch((caught: unknown) => caught);
      expect(error).toMatchObject({ code: 'RAMPART_DB_TRANSACTION_CONFLICT' });
      expect(sqlState((error as Error).cause)).toBe('40001');
      expect(attempts).toBe(2);

      attempts = 0;
      await expect(
        transaction(db, async (tx) => {
          attempts += 1;
          await tx.execute(sql`select 1 / 0`);
        }),
      ).rejects.toThrow();
      expect(attempts).toBe(1);
      await expect(transaction(db, async () => {}, { maxAttempts: 0 })).rejects.toMatchObject({
        code: 'RAMPART_DB_OPTIONS_INVALID',
      });
    },
  );

  it.skipIf(skip || backend !== 'postgresql')(
    'resolves real serializable conflicts between connections',
    async () => {
      const { db } = await open();
      let attempts = 0;
      let release!: () => void;
      const bothRead = new Promise<void>((resolve) => {
        release = resolve;
      });
      let readers = 0;
      const increment = () =>
        transaction(
          db,
          async (tx) => {
            attempts += 1;
            const value = await counterValue(tx as unknown as TestDatabase['db']);
            readers += 1;
            if (readers === 2) release();
            await Promise.race([bothRead, new Promise((done) => setTimeout(done, 500))]);
            await tx.execute(sql`update counters set value = ${(value ?? 0) + 1} where name = 'a'`);
          },
          { isolationLevel: 'serializable', maxAttempts: 5, retryDelayMs: 5 },
        );
      await Promise.all([increment(), increment()]);
      // Without the retry one increment would be lost (or fail); with it both land.
      expect(await counterValue(db)).toBe(2);
      expect(attempts).toBeGreaterThan(2);
    },
  );
});
