import type { Job } from 'pg-boss';
import type { TSchema } from 'typebox';
import type { JobContext, Task } from './define-task.ts';
import { asError, TasksError } from './errors.ts';
import { report } from './observer.ts';
import type { JobEnvelope, TaskQueue } from './task-queue.ts';
import { within } from './within.ts';

export interface WorkerOptions {
  queue: TaskQueue;
  /** Names of the tasks this worker runs; default every task of the queue. */
  tasks?: readonly string[];
  /** After stop(), how long running handlers may take before their signal is aborted. */
  shutdownGraceMs?: number;
  /**
   * Backstop poll while idle. New jobs start on a NOTIFY (or a local enqueue) without waiting for it; the
   * poll only bounds how late a delayed or retried job can start, and covers a lost notification.
   */
  pollIntervalMs?: number;
  /** Most jobs one fetch claims (also bounded by the task's free concurrency). */
  maxBatch?: number;
  /**
   * After the grace period, how long stop() waits for the database to store the outcomes (and answer a
   * fetch in flight). A database that does not answer by then cannot hold the stop: those jobs stay active
   * and run again once they expire, and onError gets RAMPART_TASKS_STOP_INCOMPLETE.
   */
  storeTimeoutMs?: number;
}

export const WORKER_DEFAULTS = {
  shutdownGraceMs: 10_000,
  pollIntervalMs: 1_000,
  maxBatch: 50,
  storeTimeoutMs: 5_000,
} as const;

export interface Worker {
  /** Starts fetching. The queue must be started. */
  start(): void;
  /**
   * Stops fetching, waits up to the grace period for running handlers, aborts the rest (their jobs are
   * failed so they run again), and waits until every outcome is stored, or `storeTimeoutMs` more at most
   * when the database does not answer. Idempotent.
   */
  stop(): Promise<void>;
  /** Handlers running now. */
  readonly running: number;
}

/** A handler that has started and not yet settled. */
interface RunningJob {
  /** Aborts the handler's signal and ends the attempt with `reason` (a handler that ignores it keeps its slot). */
  abort(reason: Error): void;
  /** True once the attempt's outcome is decided (its handler returned, or it timed out), slot held or not. */
  readonly settled: boolean;
}

/** Text PostgreSQL's jsonb can hold: U+0000 and unpaired surrogates (refused, or altered) become U+FFFD. */
function storable(text: string): string {
  return text.replaceAll('\0', '\uFFFD').toWellFormed();
}

function serializeError(error: Error): { name: string; message: string; code?: string } {
  const code = (error as { code?: unknown }).code;
  return {
    name: storable(String(error.name)),
    message: storable(String(error.message)),
    ...(typeof code === 'string' ? { code: storable(code) } : {}),
  };
}

/** Completions are stored in batches: one statement for everything finished since the last one. */
function createSettler(queue: TaskQueue, name: string) {
  let pending: Job[] = [];
  let flushing: Promise<void> | undefined;
  const flush = async () => {
    while (pending.length > 0) {
      const batch = pending;
      pending = [];
      try {
        await queue.boss.complete(name, batch);
      } catch (error) {
        // The jobs stay active and are retried after expiring: at least once, never lost.
        queue.reportError(error);
      }
    }
    flushing = undefined;
  };
  return {
    complete(job: Job) {
      pending.push(job);
      // Sent two turns on: every handler finishing in this one shares the statement, and the loop's next
      // fetch (issued one turn on) goes first. On PGlite, which runs statements one at a time, completing
      // before that fetch measured 10 to 20% more CPU per job; on PostgreSQL the two run side by side.
      flushing ??= new Promise((resolve) => setImmediate(() => setImmediate(resolve))).then(flush);
    },
    async drain() {
      while (flushing) await flushing;
    },
  };
}

function createTaskLoop(
  queue: TaskQueue,
  task: Task<TSchema>,
  options: Required<Omit<WorkerOptions, 'queue' | 'tasks'>>,
) {
  // Keyed by run, not job id: a retry of a timed-out job can start here while its abandoned run still holds a slot.
  const running = new Set<RunningJob>();
  const failures = new Set<Promise<unknown>>();
  const settler = createSettler(queue, task.name);
  const observer = queue.observer;
  let stopping = false;
  /** Set when stop() gave up on the database: nothing fetched after that may start. */
  let abandoned = false;
  let woken = false;
  let wakeUp: (() => void) | undefined;
  /** Called when the last running handler settles (stop() waits on it). */
  let idle: (() => void) | undefined;
  let loop: Promise<void> | undefined;
  const observing = observer?.onJob !== undefined;

  /** Some running attempt's outcome is not decided yet. */
  const undecided = () => {
    for (const run of running) if (!run.settled) return true;
    return false;
  };

  const wake = () => {
    woken = true;
    wakeUp?.();
  };
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = ms === Number.POSITIVE_INFINITY ? undefined : setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wakeUp = undefined;
        resolve();
      }
      wakeUp = done;
    });

  /** Stores a failed attempt; resolves true once stored, false when the database refused it (reported). */
  const fail = (job: Job, error: Error): Promise<boolean> => {
    const settled = queue.boss.fail(task.name, job, serializeError(error)).then(
      () => true,
      (cause: unknown) => {
        queue.reportError(cause);
        return false;
      },
    );
    const tracked = settled.finally(() => failures.delete(tracked));
    failures.add(tracked);
    return settled;
  };

  /**
   * Starts a fetched batch. Its jobs start together, so one timer covers their timeouts, and per job there
   * is one promise reaction (no per-job timer, abort listener or race): the worker's own cost per job is a
   * fraction of a microsecond beside pg-boss's fetch and complete.
   */
  function startBatch(jobs: Job<JobEnvelope>[]): void {
    const started = performance.now();
    const runs: Array<{ run: RunningJob; job: Job }> = [];
    let outstanding = 0;
    let timer: NodeJS.Timeout | undefined;
    const ended = () => {
      outstanding -= 1;
      if (outstanding === 0) clearTimeout(timer);
    };
    for (const job of jobs) {
      const run = execute(job, started, ended);
      if (run !== undefined) {
        runs.push({ run, job });
        outstanding += 1;
      }
    }
    if (outstanding === 0) return;
    timer = setTimeout(() => {
      for (const { run, job } of runs) {
        run.abort(
          new TasksError('RAMPART_TASKS_JOB_TIMEOUT', {
            detail: `${task.name} ${job.id} after ${task.timeout} ms`,
          }),
        );
      }
    }, task.timeout);
  }

  /** Runs one job's handler; undefined when the job is failed without running (bad payload). */
  function execute(job: Job<JobEnvelope>, started: number, ended: () => void): RunningJob | undefined {
    const attempt = job.retryCount + 1;
    const envelope = job.data as Partial<JobEnvelope> | null;
    const problems =
      envelope && typeof envelope === 'object' && 'payload' in envelope
        ? task.check(envelope.payload)
        : [{ path: '/', message: 'job data is not a @rampart/tasks envelope' }];
    if (observing) report(observer, { task: task.name, jobId: job.id, kind: 'active', attempt });
    if (problems.length > 0) {
      const error = new TasksError('RAMPART_TASKS_JOB_PAYLOAD_INVALID', {
        detail: `${task.name} ${job.id}: ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}`,
        details: problems,
      });
      void failed(job, attempt, error, observing ? performance.now() - started : undefined);
      return undefined;
    }
    const { payload, key, carrier } = envelope as JobEnvelope;

    const controller = new AbortController();
    let settled = false;
    // The attempt's outcome: the handler's, or the abort reason if that comes first. Once only.
    const settle = (error: Error | undefined) => {
      if (settled) return;
      settled = true;
      ended();
      // stop() waits for attempts still undecided, not for handlers that ignored their timeout's abort.
      if (idle !== undefined && !undecided()) idle();
      const durationMs = observing ? performance.now() - started : undefined;
      if (error !== undefined) {
        void failed(job, attempt, error, durationMs);
        return;
      }
      settler.complete(job);
      if (observing) {
        report(observer, { task: task.name, jobId: job.id, kind: 'completed', attempt, durationMs });
      }
    };
    const run: RunningJob = {
      abort(reason) {
        controller.abort(reason);
        settle(reason);
      },
      get settled() {
        return settled;
      },
    };
    const context: JobContext = {
      task: task.name,
      jobId: job.id,
      idempotencyKey: key ?? job.id,
      attempt,
      signal: controller.signal,
    };
    const call = (): Promise<unknown> => {
      try {
        return Promise.resolve(task.handler(payload as never, context));
      } catch (error) {
        return Promise.reject(error);
      }
    };
    let handler: Promise<unknown>;
    if (observer?.runJob) {
      try {
        handler = Promise.resolve(
          observer.runJob({ task: task.name, jobId: job.id, carrier: carrier ?? {} }, call),
        );
      } catch (error) {
        handler = Promise.reject(error);
      }
    } else {
      handler = call();
    }
    running.add(run);
    // The slot is held until the handler itself settles, even after a timeout or shutdown ended the attempt.
    const free = () => {
      running.delete(run);
      if (running.size === 0) idle?.();
      // A slot is free: fetch more if the loop is waiting for one.
      wakeUp?.();
    };
    handler.then(
      () => {
        free();
        settle(undefined);
      },
      (error: unknown) => {
        free();
        settle(asError(error));
      },
    );
    return run;
  }

  async function failed(job: Job, attempt: number, error: Error, durationMs: number | undefined) {
    try {
      // Not stored (the database refused it): the job stays active and runs again once it expires, so
      // there is no failure, retry or dead letter to report.
      if (!(await fail(job, error))) return;
      report(observer, { task: task.name, jobId: job.id, kind: 'failed', attempt, durationMs, error });
      if (attempt <= task.retry.limit) {
        report(observer, { task: task.name, jobId: job.id, kind: 'retried', attempt, error });
        // A retry due now (or soon) is picked up by this worker without waiting for the backstop poll.
        const delayMs = task.retry.backoff.delaySeconds * 1000;
        if (delayMs === 0) wake();
        else if (task.retry.backoff.type === 'fixed') setTimeout(wake, delayMs + 50).unref();
      } else if (task.deadLetter) {
        report(observer, { task: task.name, jobId: job.id, kind: 'dead-lettered', attempt, error });
      }
    } catch (cause) {
      queue.reportError(cause);
    }
  }

  async function run(): Promise<void> {
    while (!stopping) {
      if (running.size >= task.concurrency) {
        await sleep(Number.POSITIVE_INFINITY);
        // Let the other handlers that finish in this same turn free their slots too, so the next fetch
        // claims a batch rather than one job per freed slot.
        await new Promise((resolve) => setImmediate(resolve));
        continue;
      }
      const free = task.concurrency - running.size;
      const wanted = Math.min(free, options.maxBatch);
      woken = false;
      let jobs: Job<JobEnvelope>[];
      try {
        jobs = await queue.boss.fetch<JobEnvelope>(task.name, { batchSize: wanted });
      } catch (error) {
        queue.reportError(error);
        if (!stopping) await sleep(options.pollIntervalMs);
        continue;
      }
      // Claimed after stop() gave up on the database: leave them active; they run again once they expire.
      if (abandoned) break;
      if (stopping) {
        // Claimed while stop() began: they have not run, so they run now, within the grace period, rather
        // than be failed unrun (spending an attempt, or dead-lettering a task without retries).
        startBatch(jobs);
        break;
      }
      if (jobs.length > 0) startBatch(jobs);
      if (jobs.length === wanted || woken) continue;
      await sleep(options.pollIntervalMs);
    }
  }

  return {
    name: task.name,
    wake,
    get running() {
      return running.size;
    },
    start() {
      loop = run();
    },
    async stop(graceMs: number, storeTimeoutMs: number) {
      stopping = true;
      wakeUp?.();
      const graceEnds = performance.now() + graceMs;
      // A fetch in flight may be waiting on a database that no longer answers.
      let answered = await within(loop ?? Promise.resolve(), graceMs + storeTimeoutMs);
      if (undecided()) {
        let timer: NodeJS.Timeout | undefined;
        await new Promise<void>((resolve) => {
          idle = resolve;
          timer = setTimeout(resolve, Math.max(0, graceEnds - performance.now()));
        });
        idle = undefined;
        clearTimeout(timer);
        for (const job of running) job.abort(new TasksError('RAMPART_TASKS_SHUTDOWN'));
      }
      // Give aborted handlers' outcomes a turn to be recorded, then wait for every write, for so long.
      await new Promise((resolve) => setImmediate(resolve));
      const writes = (async () => {
        while (failures.size > 0) await Promise.allSettled([...failures]);
        await settler.drain();
      })();
      if (answered) answered = await within(writes, storeTimeoutMs);
      if (!answered) {
        abandoned = true;
        queue.reportError(
          new TasksError('RAMPART_TASKS_STOP_INCOMPLETE', {
            detail: `${task.name}: no answer ${storeTimeoutMs} ms after the grace period`,
          }),
        );
      }
    },
  };
}

/**
 * Runs the queue's tasks in this process: per-task concurrency, no polling floor (a NOTIFY or a local
 * enqueue starts an idle worker at once), handler timeouts through an AbortSignal, retries and dead
 * letters through pg-boss, and a draining stop.
 *
 * Delivery is at least once: a handler may run again for the same job after a crash, timeout or
 * shutdown, so make side effects idempotent on `context.idempotencyKey`.
 *
 * @example
 * const worker = createWorker({ queue });
 * worker.start();
 * process.once('SIGTERM', async () => { await worker.stop(); await queue.stop(); });
 */
export function createWorker(options: WorkerOptions): Worker {
  const queue = options?.queue;
  if (typeof queue?.onJobsAvailable !== 'function') {
    throw new TasksError('RAMPART_TASKS_OPTIONS_INVALID', {
      detail: 'queue must come from createTaskQueue()',
    });
  }
  const settings = {
    shutdownGraceMs: options.shutdownGraceMs ?? WORKER_DEFAULTS.shutdownGraceMs,
    pollIntervalMs: options.pollIntervalMs ?? WORKER_DEFAULTS.pollIntervalMs,
    maxBatch: options.maxBatch ?? WORKER_DEFAULTS.maxBatch,
    storeTimeoutMs: options.storeTimeoutMs ?? WORKER_DEFAULTS.storeTimeoutMs,
  };
  for (const [name, value, min, max] of [
    ['shutdownGraceMs', settings.shutdownGraceMs, 0, 3_600_000],
    ['pollIntervalMs', settings.pollIntervalMs, 10, 3_600_000],
    ['maxBatch', settings.maxBatch, 1, 1000],
    ['storeTimeoutMs', settings.storeTimeoutMs, 100, 600_000],
  ] as const) {
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new TasksError('RAMPART_TASKS_OPTIONS_INVALID', {
        detail: `${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`,
      });
    }
  }
  const names = options.tasks ?? [...queue.tasks.keys()];
  const loops = names.map((name) => {
    const task = queue.tasks.get(name);
    if (!task) throw new TasksError('RAMPART_TASKS_TASK_UNKNOWN', { detail: name });
    return createTaskLoop(queue, task, settings);
  });
  const byName = new Map(loops.map((loop) => [loop.name, loop]));

  let state: 'created' | 'running' | 'stopped' = 'created';
  let unsubscribe: (() => void) | undefined;
  let stopping: Promise<void> | undefined;

  return {
    start() {
      if (state === 'running') throw new TasksError('RAMPART_TASKS_WORKER_RUNNING');
      if (state === 'stopped')
        throw new TasksError('RAMPART_TASKS_NOT_STARTED', { detail: 'worker was stopped' });
      if (queue.state !== 'started') {
        throw new TasksError('RAMPART_TASKS_NOT_STARTED', { detail: 'start the queue first' });
      }
      state = 'running';
      unsubscribe = queue.onJobsAvailable((name) => {
        if (name === undefined) for (const loop of loops) loop.wake();
        else byName.get(name)?.wake();
      });
      for (const loop of loops) loop.start();
    },
    stop() {
      if (state !== 'running') {
        state = 'stopped';
        return stopping ?? Promise.resolve();
      }
      state = 'stopped';
      unsubscribe?.();
      stopping = Promise.all(
        loops.map((loop) => loop.stop(settings.shutdownGraceMs, settings.storeTimeoutMs)),
      ).then(() => undefined);
      return stopping;
    },
    get running() {
      return loops.reduce((sum, loop) => sum + loop.running, 0);
    },
  };
}
