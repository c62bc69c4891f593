import { createTestDatabase } from '@rampart/db/testing';
import Type from 'typebox';
import { describe, expect, it } from 'vitest';
import { backends } from '../test/harness.ts';
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

  it('with startOnEnqueue, starts at the first enqueue, fails it with a coded error and tries again at the next', async () => {
    const queue = createTaskQueue({ connectionString, tasks: [task], startOnEnqueue: true });
    expect(queue.state).toBe('created');
    expect(
      isTasksError(
        rejection(() => queue.boss),
        'RAMPART_TASKS_NOT_STARTED',
      ),
    ).toBe(true);
    for (let attempt = 0; attempt < 2; attempt++) {
      const error = await queue.enqueue(task, {}).catch((caught: unknown) => caught);
      expect(isTasksError(error, 'RAMPART_TASKS_START_FAILED')).toBe(true);
      expect(queue.state).toBe('created');
    }
    await queue.stop();
    const stopped = await queue.enqueue(task, {}).catch((caught: unknown) => caught);
    expect(isTasksError(stopped, 'RAMPART_TASKS_NOT_STARTED')).toBe(true);
  });

  it('loads pg-boss at start, not when the package is imported or a queue is made', async () => {
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    const script = `import { registerHooks } from 'node:module';
      const resolved = [];
      registerHooks({ resolve(specifier, context, next) { const result = next(specifier, context); resolved.push(result.url); return result; } });
      const { createTaskQueue, defineTask } = await import(${JSON.stringify(new URL('./index.ts', import.meta.url).href)});
      const { default: Type } = await import('typebox');
      const task = defineTask({ name: 'a', schema: Type.Object({}), handler: async () => {} });
      const queue = createTaskQueue({ connectionString: ${JSON.stringify(connectionString)}, tasks: [task] });
      const pgBoss = () => resolved.some((url) => url.includes('/node_modules/pg-boss/'));
      const before = pgBoss();
      await queue.start().catch(() => {});
      console.log(JSON.stringify({ before, after: pgBoss() }));`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
      cwd: new URL('..', import.meta.url),
    });
    expect(JSON.parse(stdout)).toEqual({ before: false, after: true });
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

describe.each(backends())('startOnEnqueue on %s', (backend) => {
  it("stores the first job in the caller's transaction, starting the queue on the way (PostgreSQL only)", async () => {
    const database = await createTestDatabase({ backend });
    const options = {
      database,
      tasks: [task],
      schema: database.schemaName ?? 'rampart_tasks',
      supervise: false,
      runSchedules: false,
      startOnEnqueue: true,
    };
    try {
      if (backend === 'pglite') {
        // One connection, held by the transaction: a start inside it would wait forever.
        const error = rejection(() => createTaskQueue(options));
        expect(isTasksError(error, 'RAMPART_TASKS_OPTIONS_INVALID')).toBe(true);
        return;
      }
      const queue = createTaskQueue(options);
      try {
        const sent = await database.db.transaction((tx) =>
          queue.enqueue(task, {}, { tx, idempotencyKey: 'k' }),
        );
        expect(queue.state).toBe('started');
        const [job] = await queue.boss.findJobs('a', { id: sent.jobId });
        expect(job?.data).toEqual({ payload: {}, key: 'k' });
      } finally {
        await queue.stop();
      }
    } finally {
      await database.close();
    }
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
