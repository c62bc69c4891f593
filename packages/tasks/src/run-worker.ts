import type { TSchema } from 'typebox';
import type { Task } from './define-task.ts';
import { createTaskQueue, type TaskQueue, type TaskQueueOptions } from './task-queue.ts';
import { createWorker, type Worker, type WorkerOptions } from './worker.ts';

export interface RunWorkerOptions
  extends Omit<TaskQueueOptions, 'tasks'>,
    Omit<WorkerOptions, 'queue' | 'tasks'> {
  tasks: ReadonlyArray<Task<TSchema>>;
  /**
   * Signals that drain and stop the worker (default SIGTERM and SIGINT); a second one exits at once. A stop
   * is bounded: the grace period, then `storeTimeoutMs` for the worker's writes and `stopTimeoutMs` for
   * pg-boss, however the database behaves.
   */
  signals?: readonly NodeJS.Signals[];
  /** Called once the worker has stopped after a signal; default `process.exit(0)`. */
  onStopped?: () => void;
}

export interface RunningWorker {
  queue: TaskQueue;
  worker: Worker;
  /** Drains the worker and stops the queue. */
  stop(): Promise<void>;
}

/**
 * A worker process in one call, so API and workers scale separately: starts the queue and a worker for
 * the given tasks, and on SIGTERM/SIGINT stops fetching, lets running handlers finish within the grace
 * period, stores every outcome and exits.
 *
 * @example
 * // src/worker.ts of a service
 * await runWorker({ connectionString: env.DATABASE_URL, tasks: [sendWebhook, cleanUp] });
 */
export async function runWorker(options: RunWorkerOptions): Promise<RunningWorker> {
  const { signals = ['SIGTERM', 'SIGINT'], onStopped = () => process.exit(0), ...rest } = options;
  const queue = createTaskQueue(rest);
  const { shutdownGraceMs, pollIntervalMs, maxBatch, storeTimeoutMs } = rest;
  const worker = createWorker({ queue, shutdownGraceMs, pollIntervalMs, maxBatch, storeTimeoutMs });
  await queue.start();
  worker.start();
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= worker.stop().then(() => queue.stop());
    return stopping;
  };
  const onSignal = () => {
    if (stopping) process.exit(1);
    void stop().then(onStopped);
  };
  for (const signal of signals) process.on(signal, onSignal);
  return {
    queue,
    worker,
    stop: () => {
      for (const signal of signals) process.off(signal, onSignal);
      return stop();
    },
  };
}
