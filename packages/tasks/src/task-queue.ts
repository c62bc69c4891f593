import { createHash } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { Job, PgBoss } from 'pg-boss';
import type { Static, TSchema } from 'typebox';
import type { Task } from './define-task.ts';
import { asError, TasksError } from './errors.ts';
import { jobIdForKey } from './job-id.ts';
import { injectCarrier, report, type TaskObserver } from './observer.ts';
import { within } from './within.ts';

/** What a job's `data` holds: the payload plus what the worker needs to run it. */
export interface JobEnvelope {
  payload: unknown;
  /** The enqueue's idempotency key, when one was given. */
  key?: string;
  /** The observer's trace carrier captured at enqueue. */
  carrier?: Record<string, string>;
}

/** A drizzle database or transaction (`db.transaction(async (tx) => ...)`): anything with `execute`. */
export interface Executor {
  execute(query: ReturnType<typeof sql>): PromiseLike<unknown>;
}

/** A `RampartDb` from @rampart/db (structurally): its drizzle database and which system is underneath. */
export interface DatabaseHandle {
  readonly system: 'pglite' | 'postgresql';
  /** The drizzle database; its `$client` (PGlite or pg Pool) is read at runtime. */
  readonly db: object;
}

export interface TaskQueueOptions {
  /** Every task this queue can enqueue and its workers can run. */
  tasks: ReadonlyArray<Task<TSchema>>;
  /**
   * The service's database (a `RampartDb`). On PGlite pg-boss shares the instance; on PostgreSQL it opens
   * its own small pool on the same server (`connectionString`, else the pool's own connection string).
   */
  database?: DatabaseHandle;
  /** PostgreSQL connection string for pg-boss's pool; needed without `database`. */
  connectionString?: string;
  /** Connections in pg-boss's PostgreSQL pool (LISTEN takes one more). */
  poolSize?: number;
  /** Schema pg-boss installs into: lowercase letters, digits and `_`. */
  schema?: string;
  observer?: TaskObserver;
  /** Fail jobs whose worker died (past their expiration) and run maintenance in this process. */
  supervise?: boolean;
  superviseIntervalSeconds?: number;
  /** Create the jobs of cron schedules from this process (pg-boss coordinates several instances). */
  runSchedules?: boolean;
  /** How often schedules are checked for due occurrences (pg-boss's cron monitor), 1 to 45 seconds. */
  scheduleIntervalSeconds?: number;
  /** Background errors (pg-boss `error` events, failed settlements): logged and counted, never thrown. */
  onError?: (error: Error) => void;
  /**
   * Start at the first `enqueue` instead of by `start()` (default false): for a process that only enqueues
   * (a service's API on PostgreSQL, where the worker process runs the tasks), pg-boss is neither loaded nor
   * started until it sends a job. A failed start fails that enqueue with RAMPART_TASKS_START_FAILED (503);
   * the next enqueue tries again. PostgreSQL only: PGlite is one connection, which the caller's transaction holds.
   */
  startOnEnqueue?: boolean;
  /**
   * How long stop() waits for pg-boss to stop and its pool to close. A database that does not answer
   * cannot hold a shutdown: after this, stop() resolves and onError gets RAMPART_TASKS_STOP_INCOMPLETE.
   */
  stopTimeoutMs?: number;
}

export const TASK_QUEUE_DEFAULTS = {
  poolSize: 4,
  schema: 'rampart_tasks',
  supervise: true,
  superviseIntervalSeconds: 30,
  runSchedules: true,
  scheduleIntervalSeconds: 30,
  startOnEnqueue: false,
  stopTimeoutMs: 5_000,
} as const;

export interface EnqueueOptions {
  /** Enqueue inside this drizzle transaction: the job exists if and only if the transaction commits. */
  tx?: Executor;
  /** Deduplicates: a second enqueue of the same task with the same key adds no job (while the first is kept). */
  idempotencyKey?: string;
  /** Milliseconds before the job may start. */
  delay?: number;
}

export interface EnqueueResult {
  jobId: string;
  /** False when the idempotency key matched a job that already exists. */
  created: boolean;
}

/** A job that exhausted its retries, as its dead letter queue holds it. */
export interface DeadLetter {
  id: string;
  /** The failed job's id in the task's own queue. */
  sourceId: string | null;
  payload: unknown;
  idempotencyKey: string | undefined;
  /** Attempts the job had before it was dead-lettered. */
  attempts: number;
  /** What the last attempt failed with (`{ name, message, code? }`). */
  error: unknown;
  createdOn: Date;
}

export interface TaskQueue {
  /**
   * The real pg-boss instance, for anything this package does not cover (dashboards, redrive, stats).
   * pg-boss is loaded and made by `start()`; reading this before throws RAMPART_TASKS_NOT_STARTED.
   */
  readonly boss: PgBoss;
  readonly schema: string;
  readonly tasks: ReadonlyMap<string, Task<TSchema>>;
  readonly observer: TaskObserver | undefined;
  /** 'started' between a successful start() and stop(). */
  readonly state: 'created' | 'starting' | 'started' | 'stopped';
  /** Installs or migrates pg-boss's schema, creates each task's queue and dead letter queue, and its schedule. */
  start(): Promise<void>;
  /** Stops pg-boss and closes its pool (never the caller's PGlite). Stop workers first. */
  stop(): Promise<void>;
  enqueue<S extends TSchema>(
    task: Task<S>,
    payload: Static<S>,
    options?: EnqueueOptions,
  ): Promise<EnqueueResult>;
  /** The jobs in a task's dead letter queue, oldest first. */
  deadLetters(task: Task<TSchema>, options?: { limit?: number }): Promise<DeadLetter[]>;
  /**
   * Calls `listener(taskName)` whenever jobs may be ready: a NOTIFY from any process, or a local enqueue.
   * Workers use it to start jobs without polling. Returns the unsubscribe function.
   */
  onJobsAvailable(listener: (task: string | undefined) => void): () => void;
  /** Reports a background error to `onError`. */
  reportError(error: unknown): void;
}

const SCHEMA = /^[a-z_][a-z0-9_]{0,47}$/;
const MAX_KEY_LENGTH = 512;
const MAX_DELAY_MS = 366 * 24 * 60 * 60 * 1000;
const SCHEDULE_KEY = 'rampart';

function optionsInvalid(detail: string): never {
  throw new TasksError('RAMPART_TASKS_OPTIONS_INVALID', { detail });
}

function positiveInteger(value: number, name: string, max: number): number {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    optionsInvalid(`${name} must be an integer from 1 to ${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** pg-boss's NOTIFY channel for a schema (plans.notifyChannelSql, evaluated here for a lowercase schema). */
export function notifyChannel(schema: string): string {
  return `pgboss_${createHash('sha224').update(schema).digest('hex').slice(0, 24)}`;
}

function connectionStringOf(database: DatabaseHandle | undefined, explicit: string | undefined) {
  if (explicit !== undefined) return explicit;
  const client = (database?.db as { $client?: { options?: { connectionString?: unknown } } } | undefined)
    ?.$client;
  const options = client?.options;
  return typeof options?.connectionString === 'string' ? options.connectionString : undefined;
}

type PgBossModule = typeof import('pg-boss');

/** A value JSON text would carry as `\u0000` or a lone surrogate escape: jsonb refuses the first, alters the second. */
const UNSTORABLE_ESCAPE = /(?<!\\)(?:\\\\)*\\u(?:0000|d[89a-f][0-9a-f]{2})/;

/**
 * Creates the task queue over pg-boss: `enqueue` (in the caller's transaction when given one), each
 * task's queue and dead letter queue, its cron schedule, and the wake-up seam workers listen on.
 *
 * @example
 * const database = await createDb({ dataDir: '.data/app' });
 * const queue = createTaskQueue({ database, tasks: [sendWebhook] });
 * await queue.start();
 * await database.db.transaction(async (tx) => {
 *   await tx.insert(orders).values(order);
 *   await queue.enqueue(sendWebhook, { url, body }, { tx, idempotencyKey: `order-${order.id}` });
 * });
 */
export function createTaskQueue(options: TaskQueueOptions): TaskQueue {
  if (typeof options !== 'object' || options === null) optionsInvalid('options must be an object');
  const schema = options.schema ?? TASK_QUEUE_DEFAULTS.schema;
  if (typeof schema !== 'string' || !SCHEMA.test(schema)) {
    optionsInvalid(`schema must match ${SCHEMA}, got ${JSON.stringify(schema)}`);
  }
  if (!Array.isArray(options.tasks) || options.tasks.length === 0)
    optionsInvalid('tasks must list at least one task');
  const tasks = new Map<string, Task<TSchema>>();
  for (const task of options.tasks) {
    if (typeof task?.check !== 'function') optionsInvalid('tasks must be made with defineTask()');
    if (tasks.has(task.name)) optionsInvalid(`two tasks are named ${task.name}`);
    tasks.set(task.name, task);
  }
  for (const task of tasks.values()) {
    if (task.deadLetter && tasks.has(task.deadLetter)) {
      optionsInvalid(`task ${task.deadLetter} collides with the dead letter queue of ${task.name}`);
    }
  }
  const poolSize = positiveInteger(options.poolSize ?? TASK_QUEUE_DEFAULTS.poolSize, 'poolSize', 100);
  const superviseIntervalSeconds = positiveInteger(
    options.superviseIntervalSeconds ?? TASK_QUEUE_DEFAULTS.superviseIntervalSeconds,
    'superviseIntervalSeconds',
    3600,
  );
  const scheduleIntervalSeconds = positiveInteger(
    options.scheduleIntervalSeconds ?? TASK_QUEUE_DEFAULTS.scheduleIntervalSeconds,
    'scheduleIntervalSeconds',
    45,
  );
  const stopTimeoutMs = options.stopTimeoutMs ?? TASK_QUEUE_DEFAULTS.stopTimeoutMs;
  if (!Number.isInteger(stopTimeoutMs) || stopTimeoutMs < 100 || stopTimeoutMs > 600_000) {
    optionsInvalid(
      `stopTimeoutMs must be an integer from 100 to 600000, got ${JSON.stringify(stopTimeoutMs)}`,
    );
  }
  const common = {
    cronMonitorIntervalSeconds: scheduleIntervalSeconds,
    cronWorkerIntervalSeconds: Math.min(5, scheduleIntervalSeconds),
    schema,
    supervise: options.supervise ?? TASK_QUEUE_DEFAULTS.supervise,
    superviseIntervalSeconds,
    // Expiry of a dead worker's jobs runs in the monitor pass, which pg-boss gates on this interval.
    monitorIntervalSeconds: superviseIntervalSeconds,
    schedule: options.runSchedules ?? TASK_QUEUE_DEFAULTS.runSchedules,
    // The observer carries trace context in the job itself; pg-boss's own spans would duplicate ours.
    openTelemetry: { enabled: false },
  };
  // pg-boss (with cron-parser and luxon, about 0.2 s of CPU) loads in start(), not when a service
  // imports this package: a process that never starts its queue never pays for it.
  let makeBoss: (pgBoss: PgBossModule) => PgBoss;
  const database = options.database;
  if (database?.system === 'pglite') {
    makeBoss = ({ PgBoss, fromPglite }) => {
      const client = (database.db as { $client: Parameters<typeof fromPglite>[0] }).$client;
      return new PgBoss({ ...common, db: fromPglite(client), backend: 'pglite' });
    };
  } else {
    const connectionString = connectionStringOf(database, options.connectionString);
    if (connectionString === undefined) {
      optionsInvalid('PostgreSQL needs connectionString (or a database whose pool has one)');
    }
    makeBoss = ({ PgBoss }) =>
      new PgBoss({ ...common, connectionString, max: poolSize, application_name: 'rampart-tasks' });
  }
  const startOnEnqueue = options.startOnEnqueue ?? TASK_QUEUE_DEFAULTS.startOnEnqueue;
  if (startOnEnqueue && database?.system === 'pglite') {
    // PGlite is one connection: a start inside the caller's transaction would wait for it forever.
    optionsInvalid('startOnEnqueue needs PostgreSQL (on PGlite, start the queue before enqueueing)');
  }
  let boss: PgBoss | undefined;
  let pgBoss: PgBossModule | undefined;

  const observer = options.observer;
  const listeners = new Set<(task: string | undefined) => void>();
  let listenHandle: { close(): Promise<void> } | undefined;
  let state: 'created' | 'starting' | 'started' | 'stopped' = 'created';
  let starting: Promise<void> | undefined;

  const reportError = (error: unknown) => {
    try {
      options.onError?.(asError(error));
    } catch {
      // the error callback must not become a crash
    }
  };

  const wake = (task: string | undefined) => {
    for (const listener of listeners) {
      try {
        listener(task);
      } catch (error) {
        reportError(error);
      }
    }
  };

  async function ensureQueues(instance: PgBoss): Promise<void> {
    // One read of every queue this runtime uses, so a start on a database that has them already creates and
    // updates nothing: each createQueue or updateQueue is a transaction under an advisory lock followed by a
    // re-read of the queue (on PGlite about 180 ms of a service's cold start, measured; on PostgreSQL, locks
    // every replica of a rollout queued for in turn).
    const names = [...tasks.values()].flatMap((task) =>
      task.deadLetter ? [task.name, task.deadLetter] : [task.name],
    );
    const existing = new Map((await instance.getQueues(names)).map((queue) => [queue.name, queue]));
    for (const task of tasks.values()) {
      if (task.deadLetter && !existing.has(task.deadLetter)) {
        await instance.createQueue(task.deadLetter, { retryLimit: 0 });
      }
      const backoff = task.retry.backoff;
      const queueOptions = {
        notify: true,
        retryLimit: task.retry.limit,
        retryDelay: backoff.delaySeconds,
        retryBackoff: backoff.type === 'exponential',
        ...(backoff.type === 'exponential' && 'maxDelaySeconds' in backoff
          ? { retryDelayMax: backoff.maxDelaySeconds }
          : {}),
        // Only a dead worker's jobs reach this: a live worker fails its own at `timeout`.
        expireInSeconds: Math.ceil(task.timeout / 1000) + 1,
      };
      const found = existing.get(task.name);
      if (found === undefined) {
        // Made with the whole policy. Should another process make it in the meantime, createQueue leaves
        // that one as it is: the same definitions, or whichever start updates it next wins, as before.
        await instance.createQueue(task.name, {
          ...queueOptions,
          ...(task.deadLetter ? { deadLetter: task.deadLetter } : {}),
        });
      } else {
        // An existing queue is brought up to date with the definition, and only when it differs from it.
        const wanted: Record<string, unknown> = { ...queueOptions, deadLetter: task.deadLetter ?? null };
        const current = found as unknown as Record<string, unknown>;
        if (Object.keys(wanted).some((key) => (current[key] ?? null) !== wanted[key])) {
          await instance.updateQueue(task.name, wanted);
        }
      }
      if (task.schedule) {
        const { cron, tz, payload } = task.schedule;
        const envelope: JobEnvelope = { payload };
        // pg-boss's own parser judges the expression and zone (loading it in defineTask would cost every
        // process that imports a task): a mistake is the definition's, not a database outage.
        try {
          instance.previewSchedule(cron, { tz: tz ?? 'UTC', count: 1 });
        } catch (error) {
          throw new TasksError('RAMPART_TASKS_TASK_INVALID', {
            detail: `${task.name}: schedule ${JSON.stringify(cron)}${tz ? ` in ${tz}` : ''}: ${asError(error).message}`,
            cause: error,
          });
        }
        await instance.schedule(task.name, cron, envelope, { key: SCHEDULE_KEY, ...(tz ? { tz } : {}) });
      } else {
        await instance.unschedule(task.name, SCHEDULE_KEY);
      }
    }
  }

  async function doStart(): Promise<void> {
    let made: PgBoss | undefined;
    try {
      pgBoss ??= await import('pg-boss');
      made = makeBoss(pgBoss);
      boss = made;
      // pg-boss emits `error` for background failures; an EventEmitter with no listener would throw them.
      made.on('error', reportError);
      await made.start();
      await ensureQueues(made);
      const db = made.getDb();
      if (typeof db.listen === 'function') {
        listenHandle = await db.listen(
          notifyChannel(schema),
          (payload) => wake(payload),
          () => wake(undefined),
        );
      }
      state = 'started';
    } catch (error) {
      await made?.stop({ graceful: false }).catch(() => {});
      // The next start() (or, with startOnEnqueue, the next enqueue) tries again: a database that was
      // down may be back. Unless stop() was called meanwhile.
      if (state === 'starting') {
        state = 'created';
        starting = undefined;
        boss = undefined;
      }
      // A bad schedule is the definition's mistake, not the database's: no retry will help.
      if (error instanceof TasksError && error.code === 'RAMPART_TASKS_TASK_INVALID') throw error;
      throw new TasksError('RAMPART_TASKS_START_FAILED', { detail: asError(error).message, cause: error });
    }
  }

  function started(): PgBoss {
    if (state !== 'started' || boss === undefined) throw new TasksError('RAMPART_TASKS_NOT_STARTED');
    return boss;
  }

  function taskOf<S extends TSchema>(task: Task<S>): Task<TSchema> {
    const known = tasks.get(task?.name);
    if (!known || known !== (task as unknown as Task<TSchema>)) {
      throw new TasksError('RAMPART_TASKS_TASK_UNKNOWN', { detail: String(task?.name) });
    }
    return known;
  }

  function start(): Promise<void> {
    if (state === 'started') return Promise.resolve();
    if (state === 'stopped')
      return Promise.reject(new TasksError('RAMPART_TASKS_NOT_STARTED', { detail: 'stopped' }));
    state = 'starting';
    starting ??= doStart();
    return starting;
  }

  return {
    get boss() {
      if (boss === undefined) {
        throw new TasksError('RAMPART_TASKS_NOT_STARTED', { detail: 'pg-boss is made by start()' });
      }
      return boss;
    },
    schema,
    tasks,
    observer,
    get state() {
      return state;
    },
    start,
    async stop() {
      if (state === 'stopped') return;
      await starting?.catch(() => {});
      state = 'stopped';
      const handle = listenHandle;
      listenHandle = undefined;
      // A database that stopped answering would hold both forever (a pool ends once its queries do).
      const done = await within(
        Promise.all([
          handle?.close().catch(reportError),
          boss?.stop({ graceful: false, close: true }).catch(reportError),
        ]),
        stopTimeoutMs,
      );
      if (!done) {
        reportError(
          new TasksError('RAMPART_TASKS_STOP_INCOMPLETE', {
            detail: `pg-boss had not stopped after ${stopTimeoutMs} ms`,
          }),
        );
      }
    },

    async enqueue(task, payload, enqueueOptions = {}) {
      if (startOnEnqueue && (state === 'created' || state === 'starting')) await start();
      const sender = started();
      const known = taskOf(task);
      // The worker gets the payload back from JSON: check what it will get, so a value JSON drops or
      // changes (undefined, NaN, a BigInt, a cycle) is refused here, not dead-lettered unrun later.
      let json: string | undefined;
      try {
        json = JSON.stringify(payload);
      } catch (error) {
        throw new TasksError('RAMPART_TASKS_PAYLOAD_INVALID', {
          detail: `${known.name}: not JSON (${asError(error).message})`,
          details: [{ path: '/', message: 'must be representable as JSON' }],
        });
      }
      if (json === undefined || UNSTORABLE_ESCAPE.test(json)) {
        const message =
          json === undefined
            ? 'must be representable as JSON'
            : 'must not contain U+0000 or an unpaired surrogate (PostgreSQL cannot store them)';
        throw new TasksError('RAMPART_TASKS_PAYLOAD_INVALID', {
          detail: `${known.name}: ${message}`,
          details: [{ path: '/', message }],
        });
      }
      const checked: unknown = JSON.parse(json);
      const problems = known.check(checked);
      if (problems.length > 0) {
        throw new TasksError('RAMPART_TASKS_PAYLOAD_INVALID', {
          detail: `${known.name}: ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}`,
          details: problems,
        });
      }
      const { tx, idempotencyKey: key, delay = 0 } = enqueueOptions;
      if (
        key !== undefined &&
        (typeof key !== 'string' ||
          key.length === 0 ||
          key.length > MAX_KEY_LENGTH ||
          key.includes('\0') ||
          !key.isWellFormed())
      ) {
        throw new TasksError('RAMPART_TASKS_ENQUEUE_OPTIONS_INVALID', {
          detail: `idempotencyKey must be a string of 1 to ${MAX_KEY_LENGTH} characters, without U+0000 or an unpaired surrogate`,
        });
      }
      if (typeof delay !== 'number' || !Number.isFinite(delay) || delay < 0 || delay > MAX_DELAY_MS) {
        throw new TasksError('RAMPART_TASKS_ENQUEUE_OPTIONS_INVALID', {
          detail: `delay must be a number of milliseconds from 0 to ${MAX_DELAY_MS}`,
        });
      }
      if (tx !== undefined && typeof tx?.execute !== 'function') {
        throw new TasksError('RAMPART_TASKS_ENQUEUE_OPTIONS_INVALID', {
          detail: 'tx must be a drizzle database or transaction',
        });
      }
      const carrier = injectCarrier(observer);
      const envelope: JobEnvelope = {
        payload: checked,
        ...(key === undefined ? {} : { key }),
        ...(carrier === undefined ? {} : { carrier }),
      };
      const id = key === undefined ? undefined : jobIdForKey(known.name, key);
      let sent: string | null;
      try {
        const { fromDrizzle } = pgBoss as PgBossModule;
        sent = await sender.send(known.name, envelope as unknown as object, {
          ...(id === undefined ? {} : { id }),
          ...(delay > 0 ? { startAfter: delay / 1000 } : {}),
          ...(tx === undefined ? {} : { db: fromDrizzle(tx as Parameters<typeof fromDrizzle>[0], sql) }),
        });
      } catch (error) {
        throw new TasksError('RAMPART_TASKS_ENQUEUE_FAILED', { detail: known.name, cause: error });
      }
      if (sent === null) return { jobId: id as string, created: false };
      report(observer, { task: known.name, jobId: sent, kind: 'queued' });
      // A job enqueued in a transaction is announced by its NOTIFY at commit; this one is visible now.
      if (tx === undefined) {
        if (delay > 0) setTimeout(() => wake(known.name), delay).unref();
        else wake(known.name);
      }
      return { jobId: sent, created: true };
    },

    async deadLetters(task, listOptions = {}) {
      const known = taskOf(task);
      if (!known.deadLetter) return [];
      const jobs = (await started().findJobs(known.deadLetter, {
        limit: listOptions.limit ?? 1000,
      })) as unknown as Array<Job<JobEnvelope> & Record<string, unknown>>;
      return jobs.map((job) => ({
        id: job.id,
        sourceId: (job.sourceId as string | null | undefined) ?? null,
        payload: job.data?.payload,
        idempotencyKey: job.data?.key,
        attempts: Number(job.sourceRetryCount ?? 0) + 1,
        error: job.sourceOutput ?? null,
        createdOn: job.createdOn as Date,
      }));
    },

    onJobsAvailable(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    reportError,
  };
}
