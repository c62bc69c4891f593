import Type from 'typebox';
import { describe, expect, it } from 'vitest';
import { defineTask, TASK_DEFAULTS } from './define-task.ts';
import { isTasksError } from './errors.ts';
import { jobIdForKey } from './job-id.ts';

const schema = Type.Object({ n: Type.Integer() });
const handler = async () => {};

function rejection(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('defineTask', () => {
  it('applies the documented defaults', () => {
    const task = defineTask({ name: 'a', schema, handler });
    expect(task).toMatchObject({
      name: 'a',
      timeout: TASK_DEFAULTS.timeout,
      concurrency: TASK_DEFAULTS.concurrency,
      retry: TASK_DEFAULTS.retry,
      deadLetter: 'a.dead',
      schedule: undefined,
    });
    expect(defineTask({ name: 'b', schema, handler, deadLetter: false }).deadLetter).toBeUndefined();
  });

  it('checks payloads against the schema with paths', () => {
    const task = defineTask({ name: 'a', schema, handler });
    expect(task.check({ n: 1 })).toEqual([]);
    expect(task.check({ n: 1.5 })).toEqual([expect.objectContaining({ path: '/n' })]);
    expect(task.check(null).length).toBeGreaterThan(0);
  });

  it.each([
    ['a bad name', { name: '1-starts-with-a-digit' }],
    ['a name with spaces', { name: 'two words' }],
    ['no handler', { handler: 'nope' }],
    ['a zero timeout', { timeout: 0 }],
    ['a fractional concurrency', { concurrency: 1.5 }],
    ['a negative retry limit', { retry: { limit: -1 } }],
    ['an unknown backoff', { retry: { limit: 1, backoff: { type: 'linear', delaySeconds: 1 } } }],
    ['a fractional backoff delay', { retry: { limit: 1, backoff: { type: 'fixed', delaySeconds: 0.5 } } }],
    ['an empty cron', { schedule: { cron: ' ', payload: { n: 1 } } }],
    ['a schedule payload the schema rejects', { schedule: { cron: '* * * * *', payload: { n: 'x' } } }],
  ])('rejects %s with RAMPART_TASKS_TASK_INVALID', (_label, override) => {
    const error = rejection(() => defineTask({ name: 'a', schema, handler, ...(override as object) }));
    expect(isTasksError(error, 'RAMPART_TASKS_TASK_INVALID')).toBe(true);
  });
});

describe('jobIdForKey', () => {
  it('maps a task and key to a stable version 8 UUID, distinct per task and key', () => {
    const id = jobIdForKey('send-webhook', 'order-1');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(jobIdForKey('send-webhook', 'order-1')).toBe(id);
    expect(jobIdForKey('send-webhook', 'order-2')).not.toBe(id);
    expect(jobIdForKey('other', 'order-1')).not.toBe(id);
  });
});
