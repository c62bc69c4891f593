// pnpm bench: jobs/s (trivial handler, one worker process) and enqueue-to-start latency p50/p99 of
// @rampart/tasks beside raw pg-boss, measured in the same run on PGlite and (with TEST_DATABASE_URL) on
// PostgreSQL. Both run over the same database, each in a schema of its own (dropped after); rounds and
// latency samples alternate between the two so both see the same load on a shared machine.
import { randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { createDb, type RampartDb } from '@rampart/db';
import { sql } from 'drizzle-orm';
import { fromPglite, PgBoss } from 'pg-boss';
import Type from 'typebox';
import { defineTask } from '../src/define-task.ts';
import { createTaskQueue } from '../src/task-queue.ts';
import { createWorker, type Worker } from '../src/worker.ts';

const JOBS = Number(process.env.BENCH_JOBS ?? 2000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 150);
const CONCURRENCY = 50;
const url = process.env.TEST_DATABASE_URL || undefined;

type Backend = 'pglite' | 'postgresql';

/** One implementation under test: a backlog round, and single idle enqueues for latency. */
interface Contender {
  name: string;
  /** Inserts JOBS jobs with no worker running, then times a worker draining them. Returns jobs/s. */
  round(): Promise<number>;
  startIdle(): Promise<void>;
  /** Enqueues one job on the idle worker; resolves with ms from the enqueue call to the handler start. */
  sample(): Promise<number>;
  close(): Promise<void>;
}

function latch() {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

function backlog(): Array<{ data: object }> {
  return Array.from({ length: JOBS }, (_, n) => ({ data: { payload: { n } } }));
}

async function insertBacklog(boss: PgBoss): Promise<void> {
  const jobs = backlog();
  for (let i = 0; i < jobs.length; i += 500) await boss.insert('bench', jobs.slice(i, i + 500));
}

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
  await boss.createQueue('bench', { notify: true });
  let onJobs: (count: number) => void = () => {};
  // pg-boss's best single-process mode for a backlog: full batches fetched back to back, NOTIFY when idle.
  const work = () =>
    boss.work(
      'bench',
      { batchSize: CONCURRENCY, burstWhenBatchFull: true, pollingIntervalSeconds: 0.5 },
      async (jobs) => onJobs(jobs.length),
    );
  return {
    name: 'raw pg-boss',
    async round() {
      await insertBacklog(boss);
      let done = 0;
      const all = latch();
      onJobs = (count) => {
        done += count;
        if (done === JOBS) all.open();
      };
      const begin = performance.now();
      await work();
      await all.promise;
      const rate = (JOBS / (performance.now() - begin)) * 1000;
      await boss.offWork('bench', { wait: true });
      return rate;
    },
    async startIdle() {
      await work();
    },
    async sample() {
      const started = latch();
      onJobs = () => started.open();
      const begin = performance.now();
      await boss.send('bench', { payload: { n: -1 } });
      await started.promise;
      return performance.now() - begin;
    },
    close: () => boss.stop({ graceful: false }),
  };
}

async function rampartTasks(database: RampartDb, schema: string): Promise<Contender> {
  let onJob: () => void = () => {};
  const task = defineTask({
    name: 'bench',
    schema: Type.Object({ n: Type.Integer() }),
    concurrency: CONCURRENCY,
    handler: async () => onJob(),
  });
  const queue = createTaskQueue({ database, schema, tasks: [task], supervise: false });
  await queue.start();
  let worker: Worker | undefined;
  return {
    name: '@rampart/tasks',
    async round() {
      await insertBacklog(queue.boss);
      let done = 0;
      const all = latch();
      onJob = () => {
        done += 1;
        if (done === JOBS) all.open();
      };
      const begin = performance.now();
      worker = createWorker({ queue, maxBatch: CONCURRENCY });
      worker.start();
      await all.promise;
      const rate = (JOBS / (performance.now() - begin)) * 1000;
      await worker.stop();
      return rate;
    },
    async startIdle() {
      worker = createWorker({ queue, maxBatch: CONCURRENCY });
      worker.start();
    },
    async sample() {
      const started = latch();
      onJob = () => started.open();
      const begin = performance.now();
      await queue.enqueue(task, { n: -1 });
      await started.promise;
      return performance.now() - begin;
    },
    async close() {
      await worker?.stop();
      await queue.stop();
    },
  };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function measure(backend: Backend) {
  const suffix = randomBytes(4).toString('hex');
  const database = backend === 'pglite' ? await createDb() : await createDb({ url: url!, poolSize: 2 });
  const contenders: Contender[] = [];
  try {
    contenders.push(await rawPgBoss(database, backend, `bench_raw_${suffix}`));
    contenders.push(await rampartTasks(database, `bench_tasks_${suffix}`));
    const rates = contenders.map(() => [] as number[]);
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const [i, contender] of contenders.entries()) rates[i]!.push(await contender.round());
    }
    for (const contender of contenders) await contender.startIdle();
    await pause(200);
    const samples = contenders.map(() => [] as number[]);
    for (let n = 0; n < SAMPLES; n += 1) {
      for (const [i, contender] of contenders.entries()) {
        // Idle between samples, so each job lands on a worker that is waiting, not mid-poll.
        await pause(10);
        samples[i]!.push(await contender.sample());
      }
    }
    return contenders.map((contender, i) => {
      const sorted = samples[i]!.sort((a, b) => a - b);
      return {
        name: contender.name,
        best: Math.max(...rates[i]!),
        median: median(rates[i]!),
        p50: percentile(sorted, 50),
        p99: percentile(sorted, 99),
        max: sorted.at(-1)!,
      };
    });
  } finally {
    for (const contender of contenders) await contender.close().catch(() => {});
    if (backend === 'postgresql') {
      await database.db.execute(sql.raw(`drop schema if exists bench_raw_${suffix} cascade`));
      await database.db.execute(sql.raw(`drop schema if exists bench_tasks_${suffix} cascade`));
    }
    await database.close();
  }
}

const print = (line: string) => process.stdout.write(`${line}\n`);
const backends: Backend[] = url === undefined ? ['pglite'] : ['pglite', 'postgresql'];
if (url === undefined) console.warn('SKIPPED SERVICE: requires PostgreSQL (TEST_DATABASE_URL unset)');
print(
  `${JOBS}-job backlog x ${ROUNDS} rounds, trivial handler, concurrency ${CONCURRENCY}, one worker process; ` +
    `latency: ${SAMPLES} enqueues on an idle worker`,
);
print(
  `machine: ${cpus().length} cores, load average ${loadavg()[0]!.toFixed(1)} at start (shared with other work)`,
);
print(
  'backend     implementation   best jobs/s  median jobs/s  vs raw (best)  vs raw (median)  p50 ms  p99 ms  max ms',
);
const cell = (value: number, width: number, digits = 1) => value.toFixed(digits).padStart(width);
for (const backend of backends) {
  const [raw, ours] = await measure(backend);
  for (const result of [raw!, ours!]) {
    print(
      `${backend.padEnd(11)} ${result.name.padEnd(16)} ${cell(result.best, 11, 0)} ${cell(result.median, 14, 0)} ` +
        `${cell(result.best / raw!.best, 13, 2)}x ${cell(result.median / raw!.median, 15, 2)}x ${cell(result.p50, 7)} ${cell(result.p99, 7)} ${cell(result.max, 7)}`,
    );
  }
}
