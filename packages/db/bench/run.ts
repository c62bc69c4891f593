// pnpm bench: inserts/s and selects/s through drizzle (createDb) and through the raw driver, on PGlite and
// on PostgreSQL (TEST_DATABASE_URL or BENCH_DATABASE_URL), as ratios measured in the same run.
// The raw driver runs on the very pool (or PGlite instance) createDb opened, so pool settings
// (statement_timeout, application_name, pool size) are identical and only drizzle's layer differs.
// Every loop is bounded in count and time.
import { randomBytes } from 'node:crypto';
import { cpus, loadavg, release } from 'node:os';
import type { PGlite } from '@electric-sql/pglite';
import { eq, sql } from 'drizzle-orm';
import { integer, pgTable, text, uuid } from 'drizzle-orm/pg-core';
import type pg from 'pg';
import { createDb, type RampartDb } from '../src/create-db.ts';
import { uuidv7 } from '../src/uuidv7.ts';
import { type Comparison, compare, cpuPerCall, formatComparison, type Runner } from './compare.ts';

const items = pgTable('bench_items', {
  id: uuid('id').primaryKey(),
  name: text('name').notNull(),
  n: integer('n').notNull(),
});

const BATCH = 50;
const MAX_ROUNDS = 400;
// Per comparison; BENCH_BUDGET_MS shortens it for a quick look.
const BUDGET_MS = Number(process.env.BENCH_BUDGET_MS) || 15_000;
const CREATE = 'create table bench_items (id uuid primary key, name text not null, n integer not null)';
const INSERT = 'insert into bench_items (id, name, n) values ($1, $2, $3)';
const SELECT = 'select id, name, n from bench_items where id = $1';

const write = (text: string) => process.stdout.write(text);
const load = () =>
  `load average ${loadavg()
    .map((value) => value.toFixed(2))
    .join(' ')} (1/5/15 min)`;

/** drizzle's query builder, as application code writes it: the SQL is built on every call. */
function builderRunner(database: RampartDb): Runner {
  return {
    insert: (id, index) => database.db.insert(items).values({ id, name: `item ${index}`, n: index }),
    select: (id) => database.db.select().from(items).where(eq(items.id, id)),
  };
}

/**
 * drizzle prepared statements. With a name, PostgreSQL parses each once per connection (like raw-named);
 * with '' they stay unnamed, so the server parses them every time like raw: that isolates what building
 * the SQL costs (builder minus built-once) from what drizzle's execution path costs (built-once minus raw).
 */
function preparedRunner(database: RampartDb, name: string): Runner {
  const insert = database.db
    .insert(items)
    .values({ id: sql.placeholder('id'), name: sql.placeholder('name'), n: sql.placeholder('n') })
    .prepare(name && `${name}_insert`);
  const select = database.db
    .select()
    .from(items)
    .where(eq(items.id, sql.placeholder('id')))
    .prepare(name && `${name}_select`);
  return {
    insert: (id, index) => insert.execute({ id, name: `item ${index}`, n: index }),
    select: (id) => select.execute({ id }),
  };
}

function drizzleRunners(database: RampartDb): Record<string, Runner> {
  return {
    builder: builderRunner(database),
    'built-once': preparedRunner(database, ''),
    prepared: preparedRunner(database, 'bench'),
  };
}

async function benchPglite(): Promise<Comparison> {
  const database = await createDb();
  const client = (database.db as unknown as { $client: PGlite }).$client;
  await client.exec(CREATE);
  const raw: Runner = {
    insert: (id, index) => client.query(INSERT, [id, `item ${index}`, index]),
    select: (id) => client.query(SELECT, [id]),
  };
  try {
    const comparison = await compare({
      label: 'pglite (in memory), concurrency 1',
      concurrency: 1,
      runners: { raw, ...drizzleRunners(database) },
      newId: uuidv7,
      batch: BATCH,
      budgetMs: BUDGET_MS,
      maxRounds: MAX_ROUNDS,
    });
    write(formatComparison(comparison, BATCH));
    return comparison;
  } finally {
    await database.close();
  }
}

async function benchPostgres(url: string): Promise<Comparison[]> {
  const schema = `bench_${randomBytes(4).toString('hex')}`;
  const poolSize = 8;
  const database = await createDb({ url, searchPath: schema, poolSize });
  const pool = (database.db as unknown as { $client: pg.Pool }).$client;
  const comparisons: Comparison[] = [];
  try {
    await pool.query(`create schema ${schema}`);
    await pool.query(CREATE);
    const version = await pool.query<{ server_version: string }>('show server_version');
    write(`postgresql ${version.rows[0]?.server_version} at ${new URL(url).host}, pool of ${poolSize}\n`);
    const raw: Runner = {
      insert: (id, index) => pool.query(INSERT, [id, `item ${index}`, index]),
      select: (id) => pool.query(SELECT, [id]),
    };
    const rawNamed: Runner = {
      insert: (id, index) =>
        pool.query({ name: 'raw_insert', text: INSERT, values: [id, `item ${index}`, index] }),
      select: (id) => pool.query({ name: 'raw_select', text: SELECT, values: [id] }),
    };
    for (const concurrency of [1, poolSize]) {
      const comparison = await compare({
        label: `postgresql, concurrency ${concurrency}`,
        concurrency,
        runners: { raw, 'raw-named': rawNamed, ...drizzleRunners(database) },
        newId: uuidv7,
        batch: BATCH,
        budgetMs: BUDGET_MS,
        maxRounds: MAX_ROUNDS,
      });
      write(formatComparison(comparison, BATCH));
      comparisons.push(comparison);
    }
    const id = uuidv7();
    const build = cpuPerCall(
      {
        select: () => database.db.select().from(items).where(eq(items.id, id)).toSQL(),
        insert: () => database.db.insert(items).values({ id, name: 'item', n: 1 }).toSQL(),
      },
      2_000,
      15,
    );
    write(
      `drizzle building the SQL alone (toSQL(), no I/O): select ${build.select!.toFixed(1)} µs, insert ${build.insert!.toFixed(1)} µs CPU per call\n`,
    );
  } finally {
    await pool.query(`drop schema if exists ${schema} cascade`).catch(() => {});
    await database.close();
  }
  return comparisons;
}

const [cpu] = cpus();
write(
  `machine: ${cpus().length} cpus (${cpu?.model.trim() ?? 'unknown'}), linux ${release()}, node ${process.version}; at start ${load()}\n`,
);
write(
  `batches of ${BATCH} ops, runners interleaved in rotating order for ${BUDGET_MS / 1_000} s per comparison.\n` +
    "/s and µs/op: median over rounds of a batch's time per op (throughput at that concurrency); cpu: the same for\n" +
    "this node process's CPU time (all threads); p50: median latency of single ops. Nx: median over rounds of\n" +
    "(time per op / raw's in the same round) [p25–p75]; p50 Nx: p50 / raw's p50; cpu +µs/op: over raw.\n" +
    'raw = the driver on the pool createDb opened; raw-named = the same with named statements;\n' +
    "builder = drizzle query builder (SQL built per call); built-once = drizzle .prepare('') (unnamed, so the\n" +
    'server parses it per call, like raw); prepared = drizzle .prepare(name) (parsed once per connection).\n',
);
// PostgreSQL first, in a fresh process: PGlite's WebAssembly heap would otherwise still be around.
const url = process.env.BENCH_DATABASE_URL || process.env.TEST_DATABASE_URL;
if (url) {
  const comparisons = await benchPostgres(url);
  const verdicts = comparisons.flatMap((comparison) =>
    (['insert', 'select'] as const).map((op) => {
      const { ratio, latencyRatio } = comparison.figures[op].builder!;
      const verdict =
        ratio <= 1.25 && latencyRatio <= 1.25
          ? 'met'
          : ratio <= 1.25 || latencyRatio <= 1.25
            ? 'split'
            : 'missed';
      return `${comparison.label.replace('postgresql, ', '')} ${op}s ${ratio.toFixed(2)}x (p50 ${latencyRatio.toFixed(2)}x) ${verdict}`;
    }),
  );
  write(`goal, builder within 1.25x of raw on PostgreSQL: ${verdicts.join('; ')}\n`);
  const split = comparisons.flatMap((comparison) =>
    (['insert', 'select'] as const).map((op) => {
      const { raw, builder, 'built-once': once } = comparison.figures[op];
      const building = builder!.cpuUs - once!.cpuUs;
      const executing = once!.cpuUs - raw!.cpuUs;
      return `${comparison.label.replace('postgresql, ', '')} ${op}s ${building.toFixed(0)} µs + ${executing.toFixed(0)} µs`;
    }),
  );
  write(
    `builder's extra CPU per op over raw = building the SQL per call (builder − built-once) + drizzle's execution path (built-once − raw): ${split.join('; ')}\n`,
  );
} else {
  write('postgresql: skipped (set TEST_DATABASE_URL or BENCH_DATABASE_URL)\n');
}
await benchPglite();
write(`at end ${load()}\n`);
