import type { RampartDb } from '@rampart/db';
import {
  createTaskQueue,
  createWorker,
  type Task,
  type TaskObserver,
  type TaskQueue,
  type Worker,
} from '@rampart/tasks';
import type { TSchema } from 'typebox';

export interface TaskRuntimeOptions {
  database: RampartDb;
  tasks: ReadonlyArray<Task<TSchema>>;
  /**
   * Run the tasks in this process too. Embedded PGlite belongs to one process, so there the API runs
   * them; on PostgreSQL the worker process (src/worker.ts) does and the API only enqueues.
   */
  inProcess: boolean;
  /** pg-boss's schema (tests on PostgreSQL give each test its own). */
  schema?: string;
  shutdownGraceMs: number;
  observer?: TaskObserver;
  onError(error: Error): void;
}

export interface TaskRuntime {
  /** Enqueue with `queue.enqueue(task, payload, { tx, idempotencyKey })`. */
  readonly queue: TaskQueue;
  /** The in-process worker, when there is one. */
  readonly worker: Worker | undefined;
  /** Drains the in-process worker, then stops the queue. Idempotent. */
  stop(): Promise<void>;
}

/** The API side of this service's tasks: a started queue, and a worker when tasks run in this process. */
export async function startTaskRuntime(options: TaskRuntimeOptions): Promise<TaskRuntime> {
  // An API on PostgreSQL only enqueues: pg-boss loads and starts at its first job instead of at every
  // start (about 0.2 s of CPU and a dozen round trips). PGlite is one connection, so there it starts now.
  const startOnEnqueue = !options.inProcess && options.database.system === 'postgresql';
  const queue = createTaskQueue({
    database: options.database,
    tasks: options.tasks,
    // Only a process that runs tasks supervises them and creates scheduled jobs.
    supervise: options.inProcess,
    runSchedules: options.inProcess,
    onError: options.onError,
    ...(options.schema ? { schema: options.schema } : {}),
    ...(options.observer ? { observer: options.observer } : {}),
    startOnEnqueue,
  });
  if (!startOnEnqueue) await queue.start();
  const worker = options.inProcess
    ? createWorker({ queue, shutdownGraceMs: options.shutdownGraceMs })
    : undefined;
  worker?.start();
  let stopping: Promise<void> | undefined;
  return {
    queue,
    worker,
    stop() {
      stopping ??= (async () => {
        await worker?.stop();
        await queue.stop();
      })();
      return stopping;
    },
  };
}
