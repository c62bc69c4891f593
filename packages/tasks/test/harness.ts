import { createTestDatabase, type TestDatabase, testDatabaseUrl } from '@rampart/db/testing';
import type { TSchema } from 'typebox';
import type { Task } from '../src/define-task.ts';
import type { TaskObserver } from '../src/observer.ts';
import { createTaskQueue, type TaskQueue, type TaskQueueOptions } from '../src/task-queue.ts';
import { createWorker, type Worker, type WorkerOptions } from '../src/worker.ts';

export type Backend = 'pglite' | 'postgresql';

/** The backends this run covers: PGlite always, PostgreSQL when TEST_DATABASE_URL is set (required in CI). */
export function backends(): Backend[] {
  return testDatabaseUrl() === undefined ? ['pglite'] : ['pglite', 'postgresql'];
}

export interface Harness {
  database: TestDatabase;
  queue: TaskQueue;
  errors: Error[];
  worker(options?: Omit<WorkerOptions, 'queue'>): Worker;
  close(): Promise<void>;
}

/**
 * A fresh database (in-memory PGlite, or a schema of its own on PostgreSQL that close() drops, pg-boss's
 * tables included) with a started task queue over it.
 */
export async function openHarness(
  backend: Backend,
  tasks: ReadonlyArray<Task<TSchema>>,
  options: { observer?: TaskObserver } & Partial<TaskQueueOptions> = {},
): Promise<Harness> {
  const database = await createTestDatabase({ backend });
  const errors: Error[] = [];
  const queue = createTaskQueue({
    database,
    tasks,
    schema: database.schemaName ?? 'rampart_tasks',
    poolSize: 3,
    onError: (error) => errors.push(error),
    ...options,
  });
  try {
    await queue.start();
  } catch (error) {
    await queue.stop();
    await database.close();
    throw error;
  }
  const workers: Worker[] = [];
  return {
    database,
    queue,
    errors,
    worker(workerOptions = {}) {
      const worker = createWorker({ queue, ...workerOptions });
      workers.push(worker);
      return worker;
    },
    async close() {
      await Promise.all(workers.map((worker) => worker.stop()));
      await queue.stop();
      await database.close();
    },
  };
}

/** Resolves when `predicate` holds, polling every 10 ms; rejects after `timeoutMs` with `what`. */
export async function until(predicate: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
