import Type from 'typebox';
import { describe, expect, it } from 'vitest';
import { defineTask } from './define-task.ts';
import { isTasksError } from './errors.ts';
import { createTaskQueue, notifyChannel } from './task-queue.ts';
import { createWorker } from './worker.ts';

const task = defineTask({ name: 'a', schema: Type.Object({}), handler: async () => {} });
const connectionString = 'postgres://nobody@127.0.0.1:1/none';

function rejection(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('createTaskQueue options', () => {
  it.each([
    ['no tasks', { tasks: [] }],
    ['a task not made with defineTask', { tasks: [{ name: 'x' }] }],
    ['two tasks with one name', { tasks: [task, task] }],
    [
      'a task named like a dead letter queue',
      { tasks: [task, { ...task, name: 'a.dead', deadLetter: undefined }] },
    ],
    ['an uppercase schema', { schema: 'Tasks' }],
    ['a zero pool size', { poolSize: 0 }],
    ['a fractional supervise interval', { superviseIntervalSeconds: 0.5 }],
    ['a schedule interval over 45 s', { scheduleIntervalSeconds: 46 }],
    ['PostgreSQL without a connection string', { connectionString: undefined }],
  ])('rejects %s with RAMPART_TASKS_OPTIONS_INVALID', (_label, override) => {
    const error = rejection(() =>
      createTaskQueue({ connectionString, tasks: [task], ...(override as object) }),
    );
    expect(isTasksError(error, 'RAMPART_TASKS_OPTIONS_INVALID')).toBe(true);
  });

  it('refuses to enqueue before start, without touching the database', async () => {
    const queue = createTaskQueue({ connectionString, tasks: [task] });
    const error = await queue.enqueue(task, {}).catch((caught: unknown) => caught);
    expect(isTasksError(error, 'RAMPART_TASKS_NOT_STARTED')).toBe(true);
  });

  it('reports an unreachable database at start with a coded error, not a hang', async () => {
    const queue = createTaskQueue({ connectionString, tasks: [task] });
    const error = await queue.start().catch((caught: unknown) => caught);
    expect(isTasksError(error, 'RAMPART_TASKS_START_FAILED')).toBe(true);
    expect((error as Error).cause).toBeInstanceOf(Error);
  });

  it("derives pg-boss's notify channel name from the schema", () => {
    // SELECT 'pgboss_' || left(encode(sha224('rampart_tasks'::bytea), 'hex'), 24), as pg-boss computes it.
    expect(notifyChannel('rampart_tasks')).toMatch(/^pgboss_[0-9a-f]{24}$/);
    expect(notifyChannel('a')).not.toBe(notifyChannel('b'));
  });
});

describe('createWorker options', () => {
  const queue = createTaskQueue({ connectionString, tasks: [task] });
  it.each([
    ['a queue that is not one', { queue: {} }],
    ['a negative grace period', { shutdownGraceMs: -1 }],
    ['a poll interval under 10 ms', { pollIntervalMs: 5 }],
    ['a zero batch', { maxBatch: 0 }],
  ])('rejects %s with RAMPART_TASKS_OPTIONS_INVALID', (_label, override) => {
    const error = rejection(() => createWorker({ queue, ...(override as object) }));
    expect(isTasksError(error, 'RAMPART_TASKS_OPTIONS_INVALID')).toBe(true);
  });

  it('refuses to start before its queue has started', () => {
    const error = rejection(() => createWorker({ queue }).start());
    expect(isTasksError(error, 'RAMPART_TASKS_NOT_STARTED')).toBe(true);
  });

  it('rejects a task the queue does not know', () => {
    const error = rejection(() => createWorker({ queue, tasks: ['missing'] }));
    expect(isTasksError(error, 'RAMPART_TASKS_TASK_UNKNOWN')).toBe(true);
  });
});
