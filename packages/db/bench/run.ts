// pnpm bench: inserts/s and selects/s through drizzle (createDb) and through the raw driver, on PGlite and
// on PostgreSQL (TEST_DATABASE_URL or BENCH_DATABASE_URL), as ratios measured in the same run, and which
// drizzle path meets the goal (within 1.25x of raw).
// On PostgreSQL the raw driver is what a careful user of pg writes without us: a plain pg.Pool with the
// settings createDb gives its own (pool size, statement_timeout, application_name, search_path), so the
// ratios carry everything @rampart/db and drizzle add. On PGlite it is the PGlite instance createDb opened
// (no observer is installed, so it is the plain PGlite class).
// Every loop is bounded in count and time.
import { randomBytes } from 'node:crypto';
import { cpus, loadavg, release } from 'node:os';
import type { PGlite } from '@electric-sql/pglite';
import { eq, sql } from 'drizzle-orm';
import { integer, pgTable, text, uuid } from 'drizzle-orm/pg-core';
import pg from 'pg';
import { createDb, type RampartDb } from '../src/create-db.ts';
import { DB_DEFAULTS } from '../src/options.ts';
import { prepared } from '../src/prepared.ts';
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
 * drizzle's .prepare(''): built once, but unnamed, so the server still parses it on every call like raw.
 * It isolates what rendering the SQL costs (builder minus built-once) from what drizzle's execution path
 * costs (built-once minus raw).
 */
function builtOnceRunner(database: RampartDb): Runner {
  const insert = database.db
    .insert(items)
    .values({ id: sql.placeholder('id'), name: sql.placeholder('name'), n: sql.placeholder('n') })
    .prepare('');
  const select = database.db
    .select()
    .from(items)
    .where(eq(items.id, sql.placeholder('id')))
    .prepare('');
  return {
    insert: (id, index) => insert.execute({ id, name: `item ${index}`, n: index }),
    select: (id) => select.execute({ id }),
  };
}

/** @rampart/db's prepared(): built once and named, so PostgreSQL parses it once per connection. */
function preparedRunner(database: RampartDb): Runner {
  const insert = prepared(database.db, (q) =>
    q
      .insert(items)
      .values({ id: sql.placeholder('id'), name: sql.placeholder('name'), n: sql.placeholder('n') }),
  );
  const select = prepared(database.db, (q) =>
    q
      .select()
      .from(items)
      .where(eq(items.id, sql.placeholder('id'))),
  );
  return {
    insert: (id, index) => insert.execute({ id, name: `item ${index}`, n: index }),
    select: (id) => select.execute({ id }),
  };
}

const DRIZZLE_PATHS = ['builder', 'built-once', 'prepared'] as const;

function drizzleRunners(database: RampartDb): Record<(typeof DRIZZLE_PATHS)[number], Runner> {
  return {
    builder: builderRunner(database),
    'built-once': builtOnceRunner(database),
    prepared: preparedRunner(database),
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
      label: 'pglite (in memory), c1',
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

async function benchPostgres(
  url: string,
): Promise<{ comparisons: Comparison[]; build: BuildCost | undefined }> {
  const schema = `bench_${randomBytes(4).toString('hex')}`;
  const poolSize = 8;
  const database = await createDb({ url, searchPath: schema, poolSize });
  // The careful pg user's pool: createDb's settings, none of its wrappers.
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    idleTimeoutMillis: DB_DEFAULTS.idleTimeoutMs,
    application_name: DB_DEFAULTS.applicationName,
    statement_timeout: DB_DEFAULTS.statementTimeoutMs,
    options: `-c search_path=${schema}`,
    allowExitOnIdle: true,
  });
  const comparisons: Comparison[] = [];
  let build: BuildCost | undefined;
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
        label: `postgresql, c${concurrency}`,
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
    build = buildCost(database);
  } finally {
    await pool.query(`drop schema if exists ${schema} cascade`).catch(() => {});
    await pool.end();
    await database.close();
  }
  return { comparisons, build };
}

interface BuildCost {
  select: { object: number; sql: number };
  insert: { object: number; sql: number };
}

/** The builder's own work back to back, no I/O (hot caches): making the query object, then rendering it. */
function buildCost(database: RampartDb): BuildCost {
  const id = uuidv7();
  const cost = cpuPerCall(
    {
      selectObject: () => database.db.select().from(items).where(eq(items.id, id)),
      selectSql: () => database.db.select().from(items).where(eq(items.id, id)).toSQL(),
      insertObject: () => database.db.insert(items).values({ id, name: 'item', n: 1 }),
      insertSql: () => database.db.insert(items).values({ id, name: 'item', n: 1 }).toSQL(),
    },
    2_000,
    15,
  );
  return {
    select: { object: cost.selectObject!, sql: cost.selectSql! - cost.selectObject! },
    insert: { object: cost.insertObject!, sql: cost.insertSql! - cost.insertObject! },
  };
}

const GOAL = 1.25;
const OPS = ['insert', 'select'] as const;

/** Per backend, concurrency and op: each drizzle path's ratios to raw and whether it meets the goal. */
function verdicts(comparisons: Comparison[]): string {
  const cell = (text: string) => text.padEnd(24);
  const lines = [
    `goal: drizzle within ${GOAL}x of raw. meets = the median per-round ratio AND the p50 latency ratio are both`,
    `<= ${GOAL}; the goal is set for PostgreSQL, PGlite is judged by the same rule beside it.`,
    `  ${''.padEnd(32)}${DRIZZLE_PATHS.map(cell).join('')}`.trimEnd(),
  ];
  for (const comparison of comparisons) {
    for (const op of OPS) {
      const cells = DRIZZLE_PATHS.map((path) => {
        const figure = comparison.figures[op][path]!;
        const meets = figure.ratio <= GOAL && figure.latencyRatio <= GOAL;
        return cell(
          `${figure.ratio.toFixed(2)}x p50 ${figure.latencyRatio.toFixed(2)}x ${meets ? 'meets' : 'MISSES'}`,
        );
      });
      lines.push(`  ${`${comparison.label} ${op}s`.padEnd(32)}${cells.join('')}`.trimEnd());
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Where the builder's extra CPU per op goes, in place (between round trips) and back to back. */
function builderCost(comparisons: Comparison[], build: BuildCost | undefined): string {
  const lines = [
    "builder's extra CPU per op over raw, in place = rendering the SQL on every call (builder − built-once)",
    '+ drizzle execution path, per-query driver options and our pool (built-once − raw):',
  ];
  for (const comparison of comparisons) {
    const parts = OPS.map((op) => {
      const { raw, builder, 'built-once': once } = comparison.figures[op];
      const total = builder!.cpuUs - raw!.cpuUs;
      const building = builder!.cpuUs - once!.cpuUs;
      const executing = once!.cpuUs - raw!.cpuUs;
      return `${op}s ${total.toFixed(0)} = ${building.toFixed(0)} + ${executing.toFixed(0)} µs`;
    });
    lines.push(`  ${comparison.label}: ${parts.join('; ')}`);
  }
  if (build) {
    lines.push(
      `the builder's work back to back, no I/O (hot caches): select ${build.select.object.toFixed(1)} µs making the query object + ` +
        `${build.select.sql.toFixed(1)} µs rendering its SQL; insert ${build.insert.object.toFixed(1)} + ${build.insert.sql.toFixed(1)} µs`,
    );
  }
  return `${lines.join('\n')}\n`;
}

const [cpu] = cpus();
write(
  `machine: ${cpus().length} cpus (${cpu?.model.trim() ?? 'unknown'}), linux ${release()}, node ${process.version}; at start ${load()}\n`,
);
write(
  `batches of ${BATCH} ops, runners interleaved in rotating order for ${BUDGET_MS / 1_000} s per comparison; c1/c8: ops in flight.\n` +
    "/s and µs/op: median over rounds of a batch's time per op (throughput at that concurrency); cpu: the same for\n" +
    "this node process's CPU time (all threads); p50: median latency of single ops. Nx: median over rounds of\n" +
    "(time per op / raw's in the same round) [p25–p75]; p50 Nx: p50 / raw's p50; cpu +µs/op: over raw.\n" +
    'raw = pg on a plain pg.Pool with the settings createDb uses (on PGlite: the PGlite instance itself);\n' +
    'raw-named = the same with named statements; builder = drizzle query builder (SQL rendered per call);\n' +
    "built-once = drizzle .prepare('') (unnamed, so the server parses it per call, like raw); prepared =\n" +
    "@rampart/db's prepared() (built once, named after its SQL, parsed once per connection).\n",
);
const comparisons: Comparison[] = [];
let build: BuildCost | undefined;
// PostgreSQL first, in a fresh process: PGlite's WebAssembly heap would otherwise still be around.
const url = process.env.BENCH_DATABASE_URL || process.env.TEST_DATABASE_URL;
if (url) {
  const postgres = await benchPostgres(url);
  comparisons.push(...postgres.comparisons);
  build = postgres.build;
} else {
  write('postgresql: skipped (set TEST_DATABASE_URL or BENCH_DATABASE_URL)\n');
}
comparisons.push(await benchPglite());
write(verdicts(comparisons));
write(builderCost(comparisons, build));
write(`at end ${load()}\n`);
