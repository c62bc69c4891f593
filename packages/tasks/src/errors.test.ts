import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isTasksError, TASKS_ERRORS, TasksError } from './errors.ts';

function readmeTable(): Array<{ code: string; status: number }> {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('## Errors'));
  return [...section.matchAll(/^\|\s*`(RAMPART_TASKS_[A-Z_]+)`\s*\|\s*(\d{3})\s*\|/gm)].map((match) => ({
    code: match[1]!,
    status: Number(match[2]),
  }));
}

describe('errors', () => {
  it('match the README errors table, code for code and status for status', () => {
    const exported = Object.entries(TASKS_ERRORS).map(([code, entry]) => ({ code, status: entry.status }));
    expect(readmeTable()).toEqual(exported);
  });

  it('carry code, status, details and cause, and are recognised by code', () => {
    const cause = new Error('root');
    const error = new TasksError('RAMPART_TASKS_PAYLOAD_INVALID', { detail: 'echo', cause, details: [1] });
    expect(error).toMatchObject({
      code: 'RAMPART_TASKS_PAYLOAD_INVALID',
      statusCode: 400,
      cause,
      details: [1],
    });
    expect(error.message).toBe('the task payload does not match its schema: echo');
    expect(isTasksError(error)).toBe(true);
    expect(isTasksError(error, 'RAMPART_TASKS_JOB_TIMEOUT')).toBe(false);
    expect(isTasksError({ code: 'RAMPART_TASKS_SHUTDOWN' }, 'RAMPART_TASKS_SHUTDOWN')).toBe(true);
    expect(isTasksError(new Error('x'))).toBe(false);
  });
});
