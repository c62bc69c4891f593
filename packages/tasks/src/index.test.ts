import { describe, expect, it } from 'vitest';

describe('public surface', () => {
  it('pins the export names of the entry', async () => {
    expect(Object.keys(await import('./index.ts')).sort()).toEqual([
      'TASKS_ERRORS',
      'TASK_DEFAULTS',
      'TASK_QUEUE_DEFAULTS',
      'TasksError',
      'WORKER_DEFAULTS',
      'createTaskQueue',
      'createWorker',
      'defineTask',
      'isTasksError',
      'jobIdForKey',
      'notifyChannel',
      'runWorker',
    ]);
  });
});
