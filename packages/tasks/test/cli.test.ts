import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

async function run(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stderr: string }> {
  const { DATABASE_URL: _unset, ...inherited } = process.env;
  const child = spawn(process.execPath, [cli, ...args], {
    env: { ...inherited, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const [code] = await once(child, 'exit');
  return { code: code as number | null, stderr };
}

describe('rampart-tasks-worker', () => {
  it('exits 2 with a one-line reason on bad configuration and 1 when it cannot start, never a stack trace', async () => {
    const unreachable = 'postgres://postgres@127.0.0.1:1/none';
    const cases: Array<{ args: string[]; env: Record<string, string>; says: string; code?: number }> = [
      { args: [], env: { DATABASE_URL: 'postgres://127.0.0.1:1/x' }, says: 'usage:' },
      { args: [fixture('no-tasks.ts')], env: {}, says: 'DATABASE_URL is not set' },
      {
        args: [fixture('no-tasks.ts')],
        env: { DATABASE_URL: 'postgres://127.0.0.1:1/x' },
        says: 'exports no tasks',
      },
      { args: [fixture('missing.ts')], env: { DATABASE_URL: unreachable }, says: 'cannot load' },
      {
        args: [fixture('one-task.ts')],
        env: { DATABASE_URL: unreachable, TASKS_POOL_SIZE: 'many' },
        says: 'TASKS_POOL_SIZE must be an integer',
      },
      {
        args: [fixture('one-task.ts')],
        env: { DATABASE_URL: 'notaurl' },
        says: 'DATABASE_URL must be a postgres:// or postgresql:// URL',
      },
      {
        args: [fixture('one-task.ts')],
        env: { DATABASE_URL: unreachable, TASKS_POOL_SIZE: '0' },
        says: 'RAMPART_TASKS_OPTIONS_INVALID: invalid @rampart/tasks options: poolSize must be an integer from 1',
      },
      {
        args: [fixture('one-task.ts')],
        env: { DATABASE_URL: unreachable, TASKS_SCHEMA: 'Bad-Schema' },
        says: 'RAMPART_TASKS_OPTIONS_INVALID',
      },
      {
        args: [fixture('one-task.ts')],
        env: { DATABASE_URL: unreachable },
        says: 'RAMPART_TASKS_START_FAILED',
        code: 1,
      },
      // Counted once, it gets as far as the database (it was "two tasks are named twice").
      {
        args: [fixture('exported-twice.ts')],
        env: { DATABASE_URL: unreachable },
        says: 'RAMPART_TASKS_START_FAILED',
        code: 1,
      },
    ];
    for (const { args, env, says, code: expected = 2 } of cases) {
      const { code, stderr } = await run(args, env);
      expect(code).toBe(expected);
      expect(stderr).toContain(says);
      expect(stderr).not.toMatch(/\n\s+at /);
    }
  });
});
