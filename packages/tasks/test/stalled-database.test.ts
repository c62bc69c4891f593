import { createTestDatabase, startFaultProxy, testDatabaseUrl } from '@rampart/db/testing';
import Type from 'typebox';
import { describe, expect, it } from 'vitest';
import { defineTask } from '../src/define-task.ts';
import { isTasksError } from '../src/errors.ts';
import { createTaskQueue } from '../src/task-queue.ts';
import { openHarness, until } from './harness.ts';

const postgresUrl = testDatabaseUrl();

describe.skipIf(postgresUrl === undefined)('a database that stops answering (PostgreSQL)', () => {
  it('cannot hold a stop: the worker and the queue give up after their timeouts, and say so', async () => {
    const proxy = await startFaultProxy(postgresUrl!);
    let release: () => void = () => {};
    const task = defineTask({
      name: 'stalled',
      schema: Type.Object({}),
      handler: () => new Promise<void>((resolve) => (release = resolve)),
    });
    const harness = await openHarness('postgresql', [task], {
      connectionString: proxy.url,
      stopTimeoutMs: 300,
    });
    try {
      const worker = harness.worker({ shutdownGraceMs: 200, storeTimeoutMs: 300 });
      worker.start();
      await harness.queue.enqueue(task, {});
      await until(() => worker.running === 1, 'the job to start');
      proxy.stall();
      // The handler finishes; storing its completion waits on a database that never answers.
      release();
      await worker.stop();
      await harness.queue.stop();
      const codes = harness.errors.map((error) => (error as { code?: string }).code);
      expect(codes.filter((code) => code === 'RAMPART_TASKS_STOP_INCOMPLETE')).toHaveLength(2);
    } finally {
      await proxy.close();
      await harness.close();
    }
  });

  it('starts on a later start() once a database that was down is back', async () => {
    const proxy = await startFaultProxy(postgresUrl!);
    const task = defineTask({ name: 'comeback', schema: Type.Object({}), handler: async () => {} });
    // A schema of its own, which close() drops with pg-boss's tables.
    const database = await createTestDatabase({ backend: 'postgresql' });
    proxy.refuse();
    const queue = createTaskQueue({
      connectionString: proxy.url,
      tasks: [task],
      schema: database.schemaName as string,
    });
    try {
      const error = await queue.start().catch((caught: unknown) => caught);
      expect(isTasksError(error, 'RAMPART_TASKS_START_FAILED')).toBe(true);
      expect(queue.state).toBe('created');
      proxy.restore();
      await queue.start();
      expect(queue.state).toBe('started');
      expect((await queue.enqueue(task, {})).created).toBe(true);
    } finally {
      await queue.stop();
      await proxy.close();
      await database.close();
    }
  });
});
