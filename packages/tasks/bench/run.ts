// pnpm bench: jobs/s (trivial handler, one worker process), CPU time per job and enqueue-to-start latency
// p50/p99 of @rampart/tasks beside raw pg-boss, measured in the same run on PGlite and (with
// TEST_DATABASE_URL) on PostgreSQL: on one server, each in a schema of its own (dropped after); on PGlite
// each in an instance of its own. Made to hold on a shared, noisy machine: rounds interleave (the order
// flips every round), the ratio is the median of per-round pairs, latency samples alternate between the
// contenders, and CPU time per job (this process's, and on a local PostgreSQL its backends') is reported
// beside wall-clock rates, since CPU time per job moves far less with other load than jobs/s does.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { createDb, type RampartDb } from '@rampart/db';
import { sql } from 'drizzle-orm';
import { fromPglite, PgBoss } from 'pg-boss';
import Type from 'typebox';
import { defineTask } from '../src/define-task.ts';
import { createTaskQueue } from '../src/task-queue.ts';
import { createWorker, type Worker } from '../src/worker.ts';

const JOBS = Number(process.env.BENCH_JOBS ?? 2000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 8);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 300);
const CONCURRENCY = 50;
const url = process.env.TEST_DATABASE_URL || undefined;

type Backend = 'pglite' | 'postgresql';

/** One implementation under test: a backlog round, and single idle enqueues for latency. */
interface Contender {
  name: string;
  schema: string;
  boss: PgBoss;
  /** Starts a worker on the waiting backlog; `onJobs(n)` is called as handlers start. */
  startWorker(): Promise<void>;
  stopWorker(): Promise<void>;
  /** Enqueues one job the way a caller would. */
  enqueue(): Promise<unknown>;
  close(): Promise<void>;
}

interface Round {
  rate: number;
  /** This process's CPU (user + system) per job, µs, from the worker's start to its stop. */
  cpu: number;
  /** The contender's PostgreSQL backends' CPU per job, µs (local server only). */
  server: number | undefined;
  /** SQL statements per 100 jobs. */
  statements: number;
}

let onJobs: (count: number) => void = () => {};
const statementCounters = new Map<Contender, { count: number }>();

function latch() {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

/** Counts the statements a pg-boss instance sends (its db adapter's executeSql). */
function countStatements(boss: PgBoss): { count: number } {
  const counter = { count: 0 };
  const db = boss.getDb() as unknown as { executeSql: (...args: unknown[]) => Promise<unknown> };
  const executeSql = db.executeSql.bind(db);
  db.executeSql = (...args) => {
    counter.count += 1;
    return executeSql(...args);
  };
  return counter;
}

// The task both contenders run. Raw pg-boss's queue gets the same policy (retries with backoff, expiry, a
// dead letter queue): that policy alone makes each fetch read more index entries (PGlite: about 38% more
// than pg-boss's bare queue), which is the policy's cost, not the worker's.
const task = defineTask({
  name: 'bench',
  schema: Type.Object({ n: Type.Integer() }),
  concurrency: CONCURRENCY,
  handler: async () => onJobs(1),
});

async function rawPgBoss(database: RampartDb, backend: Backend, schema: string): Promise<Contender> {
  const common = { schema, useListenNotify: true, openTelemetry: { enabled: false }, supervise: false };
  const boss =
    backend === 'pglite'
      ? new PgBoss({
          ...common,
          db: fromPglite((database.db as unknown as { $client: never }).$client),
          backend,
        })
      : new PgBoss({ ...common, connectionString: url!, max: 4 });
  boss.on('error', (error) => console.error(error));
  await boss.start();
  const backoff = task.retry.backoff;
  await boss.createQueue(task.deadLetter!, { retryLimit: 0 });
  await boss.createQueue('bench', {
    notify: true,
    retryLimit: task.retry.limit,
    retryDelay: backoff.delaySeconds,
    retryBackoff: backoff.type === 'exponential',
    ...('maxDelaySeconds' in backoff ? { retryDelayMax: backoff.maxDelaySeconds } : {}),
    expireInSeconds: Math.ceil(task.timeout / 1000) + 1,
    deadLetter: task.deadLetter!,
  });
  return {
    name: 'raw pg-boss',
    schema,
    boss,
    // pg-boss's best single-process mode for a backlog: full batches fetched back to back, one complete
    // statement per batch, NOTIFY when idle.
    startWorker: async () => {
      await boss.work(
        'bench',
        { batchSize: CONCURRENCY, burstWhenBatchFull: true, pollingIntervalSeconds: 0.5 },
        async (jobs) => onJobs(jobs.length),
      );
    },
    stopWorker: () => boss.offWork('bench', { wait: true }),
    enqueue: () => boss.send('bench', { payload: { n: -1 } }),
    close: () => boss.stop({ graceful: false }),
  };
}

async function rampartTasks(database: RampartDb, schema: string): Promise<Contender> {
  const queue = createTaskQueue({ database, schema, tasks: [task], supervise: false });
  await queue.start();
  let worker: Worker | undefined;
  return {
    name: '@rampart/tasks',
    schema,
    boss: queue.boss,
    startWorker: async () => {
      worker = createWorker({ queue, maxBatch: CONCURRENCY });
      worker.start();
    },
    stopWorker: async () => {
      await worker?.stop();
      worker = undefined;
    },
    enqueue: () => queue.enqueue(task, { n: -1 }),
    async close() {
      await worker?.stop();
      await queue.stop();
    },
  };
}

/**
 * CPU time of a contender's PostgreSQL backends, from /proc/<pid>/schedstat (ns), when the server runs on
 * this machine. Backends are found by their last statement naming the contender's schema.
 */
function serverCpu(database: RampartDb) {
  const run = async (query: string) =>
    (await database.db.execute(sql.raw(query))) as unknown as { rows: Array<Record<string, unknown>> };
  const cpuOf = (pid: number) => {
    try {
      return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1000;
    } catch {
      return undefined;
    }
  };
  return {
    async available(): Promise<boolean> {
      const { rows } = await run('select pg_backend_pid() as pid');
      try {
        return readFileSync(`/proc/${rows[0]!.pid}/cmdline`, 'utf8').startsWith('postgres');
      } catch {
        return false;
      }
    },
    /** µs of CPU per backend of the contender now; one that first shows up after `before` counts from 0. */
    async snapshot(schema: string): Promise<Map<number, number>> {
      const { rows } = await run(
        `select pid, query like '%${schema}.%' as ours from pg_stat_activity where backend_type = 'client backend' and pid <> pg_backend_pid()`,
      );
      const cpu = new Map<number, number>();
      for (const row of rows) {
        if (!row.ours) continue;
        const value = cpuOf(Number(row.pid));
        if (value !== undefined) cpu.set(Number(row.pid), value);
      }
      return cpu;
    },
  };
}

async function round(contender: Contender, server: ReturnType<typeof serverCpu> | undefined): Promise<Round> {
  const jobs = Array.from({ length: JOBS }, (_, n) => ({ data: { payload: { n } } }));
  for (let i = 0; i < jobs.length; i += 500) await contender.boss.insert('bench', jobs.slice(i, i + 500));
  const counter = statementCounters.get(contender)!;
  let done = 0;
  const all = latch();
  onJobs = (count) => {
    done += count;
    if (done === JOBS) all.open();
  };
  const before = await server?.snapshot(contender.schema);
  const statements = counter.count;
  const cpu = process.cpuUsage();
  const begin = performance.now();
  await contender.startWorker();
  await all.promise;
  const elapsed = performance.now() - begin;
  // Until every completion is stored: both contenders pay for their last batch.
  await contender.stopWorker();
  const used = process.cpuUsage(cpu);
  const sent = counter.count - statements;
  let serverUs: number | undefined;
  if (server && before) {
    serverUs = 0;
    for (const [pid, now] of await server.snapshot(contender.schema))
      serverUs += now - (before.get(pid) ?? 0);
  }
  return {
    rate: (JOBS / elapsed) * 1000,
    cpu: (used.user + used.system) / JOBS,
    server: serverUs === undefined ? undefined : serverUs / JOBS,
    statements: (sent / JOBS) * 100,
  };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

async function sample(contender: Contender): Promise<number> {
  const started = latch();
  onJobs = () => started.open();
  const begin = performance.now();
  await contender.enqueue();
  await started.promise;
  return performance.now() - begin;
}

async function measure(backend: Backend) {
  const suffix = randomBytes(4).toString('hex');
  // PGlite: an instance each, as each service would have; sharing one made whichever schema came second
  // measurably dearer. PostgreSQL: one server, a schema and a pool each.
  const database = backend === 'pglite' ? await createDb() : await createDb({ url: url!, poolSize: 2 });
  const own = backend === 'pglite' ? await createDb() : database;
  const contenders: Contender[] = [];
  try {
    contenders.push(await rawPgBoss(database, backend, `bench_raw_${suffix}`));
    contenders.push(await rampartTasks(own, `bench_tasks_${suffix}`));
    for (const contender of contenders) statementCounters.set(contender, countStatements(contender.boss));
    const cpuProbe = backend === 'postgresql' ? serverCpu(database) : undefined;
    const server = (await cpuProbe?.available()) ? cpuProbe : undefined;
    // One unrecorded round each, so neither pays for the JIT warming up.
    for (const contender of contenders) await round(contender, undefined);
    const rounds = contenders.map(() => [] as Round[]);
    for (let r = 0; r < ROUNDS; r += 1) {
      // The order flips every round, so neither contender always runs after the other.
      const order = r % 2 === 0 ? [0, 1] : [1, 0];
      for (const i of order) rounds[i]!.push(await round(contenders[i]!, server));
    }
    for (const contender of contenders) await contender.startWorker();
    await pause(200);
    const samples = contenders.map(() => [] as number[]);
    for (let n = 0; n < SAMPLES; n += 1) {
      for (const i of n % 2 === 0 ? [0, 1] : [1, 0]) {
        // Idle between samples, so each job lands on a worker that is waiting, not mid-poll.
        await pause(10);
        samples[i]!.push(await sample(contenders[i]!));
      }
    }
    const [raw, ours] = rounds as [Round[], Round[]];
    const pairs = ours.map((round, r) => round.rate / raw[r]!.rate);
    return {
      load: loadavg()[0]!,
      results: contenders.map((contender, i) => {
        const sorted = samples[i]!.sort((a, b) => a - b);
        const server = rounds[i]!.map((round) => round.server);
        return {
          name: contender.name,
          median: median(rounds[i]!.map((round) => round.rate)),
          best: Math.max(...rounds[i]!.map((round) => round.rate)),
          worst: Math.min(...rounds[i]!.map((round) => round.rate)),
          cpu: median(rounds[i]!.map((round) => round.cpu)),
          server: server.includes(undefined) ? undefined : median(server as number[]),
          statements: median(rounds[i]!.map((round) => round.statements)),
          p50: percentile(sorted, 50),
          p99: percentile(sorted, 99),
          max: sorted.at(-1)!,
        };
      }),
      ratio: { median: median(pairs), min: Math.min(...pairs), max: Math.max(...pairs) },
      cpuRatio: median(ours.map((round, r) => round.cpu / raw[r]!.cpu)),
    };
  } finally {
    for (const contender of contenders) await contender.close().catch(() => {});
    if (backend === 'postgresql') {
      await database.db.execute(sql.raw(`drop schema if exists bench_raw_${suffix} cascade`));
      await database.db.execute(sql.raw(`drop schema if exists bench_tasks_${suffix} cascade`));
    }
    if (own !== database) await own.close();
    await database.close();
  }
}

const print = (line: string) => process.stdout.write(`${line}\n`);
const loads = () =>
  loadavg()
    .map((value) => value.toFixed(1))
    .join(' ');
const backends: Backend[] = url === undefined ? ['pglite'] : ['pglite', 'postgresql'];
if (url === undefined) console.warn('SKIPPED SERVICE: requires PostgreSQL (TEST_DATABASE_URL unset)');
const begin = performance.now();
print(
  `${JOBS}-job backlog x ${ROUNDS} rounds (order flips each round, after one warm-up round each), trivial handler, ` +
    `concurrency ${CONCURRENCY}, one worker process, the same queue policy (${task.retry.limit} retries, ` +
    `${task.retry.backoff.type} backoff, dead letter queue); latency: ${SAMPLES} enqueues each on an idle worker, alternating`,
);
print(
  `machine: ${cpus().length} x ${cpus()[0]?.model.trim()}, node ${process.version}, load average ${loads()} at start`,
);
print(
  'backend     implementation   median jobs/s  worst  best  cpu µs/job  server µs/job  SQL/100 jobs  p50 ms  p99 ms  max ms',
);
const cell = (value: number | undefined, width: number, digits = 1) =>
  (value === undefined ? '-' : value.toFixed(digits)).padStart(width);
const summaries: string[] = [];
for (const backend of backends) {
  const { results, ratio, cpuRatio, load } = await measure(backend);
  for (const result of results) {
    print(
      `${backend.padEnd(11)} ${result.name.padEnd(16)} ${cell(result.median, 13, 0)} ${cell(result.worst, 6, 0)} ` +
        `${cell(result.best, 5, 0)} ` +
        `${cell(result.cpu, 11)} ${cell(result.server, 14)} ${cell(result.statements, 13, 2)} ` +
        `${cell(result.p50, 7)} ${cell(result.p99, 7)} ${cell(result.max, 7)}`,
    );
  }
  summaries.push(
    `${backend}: @rampart/tasks / raw pg-boss, median of ${ROUNDS} paired rounds: jobs/s ${ratio.median.toFixed(2)}x ` +
      `(rounds ${ratio.min.toFixed(2)}x to ${ratio.max.toFixed(2)}x), cpu/job ${cpuRatio.toFixed(2)}x; load average ${load.toFixed(1)} after`,
  );
}
for (const line of summaries) print(line);
print(`took ${((performance.now() - begin) / 1000).toFixed(0)} s; load average ${loads()} at end`);
