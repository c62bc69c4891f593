// pnpm bench: inserts/s and selects/s through drizzle (createDb) and through the raw driver, on PGlite and
// on PostgreSQL (TEST_DATABASE_URL or BENCH_DATABASE_URL), printed as ratios measured in the same run.
// Rounds alternate raw and drizzle so machine noise hits both; every loop is bounded in count and time.
import { randomBytes } from 'node:crypto';
import type { PGlite } from '@electric-sql/pglite';
import { eq, sql } from 'drizzle-orm';
import { integer, pgTable, text, uuid } from 'drizzle-orm/pg-core';
import pg from 'pg';
import { createDb, type RampartDb } from '../src/create-db.ts';
import { uuidv7 } from '../src/uuidv7.ts';

const items = pgTable('bench_items', {
  id: uuid('id').primaryKey(),
  name: text('name').notNull(),
  n: integer('n').notNull(),
});

const BATCH = 50;
const MAX_ROUNDS = 400;
// Each comparison stops starting rounds after this long (a round already begun finishes).
const BUDGET_MS = 15_000;

interface Runner {
  insert(id: string, index: number): Promise<unknown>;
  select(id: string): Promise<unknown>;
}

async function timed(count: number, concurrency: number, op: (index: number) => Promise<unknown>) {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await op(next++);
    }),
  );
  return count / ((performance.now() - started) / 1_000);
}

/**
 * Runs the runners in small interleaved batches (order rotating each round) until the budget is spent, so
 * a swing in machine load hits every runner alike; reports total ops / total time per runner.
 */
async function compare(
  label: string,
  concurrency: number,
  runners: Record<string, Runner> & { raw: Runner },
): Promise<void> {
  const names = Object.keys(runners);
  const totals = new Map(names.map((name) => [name, { insertMs: 0, selectMs: 0, inserts: 0, selects: 0 }]));
  const stored = new Map<string, string[]>(names.map((name) => [name, []]));
  // Warm-up: JIT, prepared plans, pool connections.
  for (const [name, runner] of Object.entries(runners)) {
    const ids = Array.from({ length: 50 }, () => uuidv7());
    await timed(50, concurrency, (index) => runner.insert(ids[index]!, index));
    await timed(50, concurrency, (index) => runner.select(ids[index]!));
    stored.get(name)!.push(...ids);
  }
  const deadline = Date.now() + BUDGET_MS;
  let rounds = 0;
  while (rounds < MAX_ROUNDS && (rounds < 2 || Date.now() < deadline)) {
    const order = names.map((_, index) => names[(index + rounds) % names.length]!);
    for (const name of order) {
      const ids = Array.from({ length: BATCH }, () => uuidv7());
      const started = performance.now();
      await timed(BATCH, concurrency, (index) => runners[name]!.insert(ids[index]!, index));
      const total = totals.get(name)!;
      total.insertMs += performance.now() - started;
      total.inserts += BATCH;
      stored.get(name)!.push(...ids);
    }
    for (const name of order) {
      const ids = stored.get(name)!;
      const started = performance.now();
      await timed(BATCH, concurrency, (index) =>
        runners[name]!.select(ids[(index * 7919 + rounds) % ids.length]!),
      );
      const total = totals.get(name)!;
      total.selectMs += performance.now() - started;
      total.selects += BATCH;
    }
    rounds += 1;
  }
  const rate = (name: string, op: 'insert' | 'select') => {
    const total = totals.get(name)!;
    return op === 'insert'
      ? total.inserts / (total.insertMs / 1_000)
      : total.selects / (total.selectMs / 1_000);
  };
  for (const op of ['insert', 'select'] as const) {
    const raw = rate('raw', op);
    const cells = names
      .filter((name) => name !== 'raw')
      .map(
        (name) =>
          `${name} ${rate(name, op).toFixed(0).padStart(6)}/s = ${(raw / rate(name, op)).toFixed(2)}x`,
      );
    process.stdout.write(
      `${label.padEnd(27)} ${`${op}s`.padEnd(8)} raw ${raw.toFixed(0).padStart(6)}/s | ${cells.join(' | ')}  (${rounds} rounds)\n`,
    );
  }
}

function drizzleRunner(database: RampartDb): Runner {
  return {
    insert: (id, index) => database.db.insert(items).values({ id, name: `item ${index}`, n: index }),
    select: (id) => database.db.select().from(items).where(eq(items.id, id)),
  };
}

/** drizzle's prepared statements: the SQL is built once (and named, so PostgreSQL parses it once per connection). */
function preparedRunner(database: RampartDb): Runner {
  const insert = database.db
    .insert(items)
    .values({ id: sql.placeholder('id'), name: sql.placeholder('name'), n: sql.placeholder('n') })
    .prepare('bench_insert');
  const select = database.db
    .select()
    .from(items)
    .where(eq(items.id, sql.placeholder('id')))
    .prepare('bench_select');
  return {
    insert: (id, index) => insert.execute({ id, name: `item ${index}`, n: index }),
    select: (id) => select.execute({ id }),
  };
}

const CREATE = 'create table bench_items (id uuid primary key, name text not null, n integer not null)';

async function benchPglite(): Promise<void> {
  const database = await createDb();
  const client = (database.db as unknown as { $client: PGlite }).$client;
  await client.exec(CREATE);
  const raw: Runner = {
    insert: (id, index) =>
      client.query('insert into bench_items (id, name, n) values ($1, $2, $3)', [id, `item ${index}`, index]),
    select: (id) => client.query('select id, name, n from bench_items where id = $1', [id]),
  };
  await compare('pglite (in memory)', 1, {
    raw,
    drizzle: drizzleRunner(database),
    prepared: preparedRunner(database),
  });
  await database.close();
}

async function benchPostgres(url: string): Promise<void> {
  const schema = `bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  const poolSize = 8;
  const database = await createDb({ url, searchPath: schema, poolSize });
  const rawPool = new pg.Pool({ connectionString: url, max: poolSize, options: `-c search_path=${schema}` });
  try {
    await database.db.execute(sql.raw(CREATE));
    const raw: Runner = {
      insert: (id, index) =>
        rawPool.query('insert into bench_items (id, name, n) values ($1, $2, $3)', [
          id,
          `item ${index}`,
          index,
        ]),
      select: (id) => rawPool.query('select id, name, n from bench_items where id = $1', [id]),
    };
    for (const concurrency of [1, poolSize]) {
      await compare(`postgresql (concurrency ${concurrency})`, concurrency, {
        raw,
        drizzle: drizzleRunner(database),
        prepared: preparedRunner(database),
      });
    }
  } finally {
    await database.close();
    await rawPool.end();
    await admin.query(`drop schema ${schema} cascade`);
    await admin.end();
  }
}

process.stdout.write(
  `batches of ${BATCH} ops interleaved for ${BUDGET_MS / 1_000} s per comparison; Nx = time per op relative to the raw driver (1.00x = as fast)\n`,
);
await benchPglite();
const url = process.env.BENCH_DATABASE_URL || process.env.TEST_DATABASE_URL;
if (url) await benchPostgres(url);
else process.stdout.write('postgresql: skipped (set TEST_DATABASE_URL or BENCH_DATABASE_URL)\n');
