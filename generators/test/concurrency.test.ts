import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createScratch, type Scratch } from './scratch.ts';

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

// Two `gen` runs at once in one workspace (two terminals, a script that backgrounds them): each plans from
// the files as they are, so without a lock the second to write drops what the first added.
describe('gen runs at the same time', () => {
  let scratch: Scratch;
  beforeAll(() => {
    scratch = createScratch();
  });
  afterAll(() => scratch.remove());
  afterEach(() => {
    scratch.run('git', ['checkout', '--', '.']);
    scratch.run('git', ['clean', '-fdq']);
  });

  const lock = () => join(scratch.dir, '.rampart-gen.lock');

  /** Starts `gen ...args` as a real process; `started` resolves once it printed `waitFor` on stderr. */
  function start(args: string[], env: Record<string, string> = {}, waitFor?: string) {
    const child = spawn(process.execPath, [join(scratch.dir, 'generators/src/cli.ts'), ...args], {
      cwd: scratch.dir,
      env: { ...process.env, INIT_CWD: scratch.dir, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const run: Run = { code: null, signal: null, stdout: '', stderr: '' };
    let onStderr: (() => void) | undefined;
    const started = new Promise<void>((resolve) => {
      onStderr = () => {
        if (waitFor && run.stderr.includes(waitFor)) resolve();
      };
    });
    child.stdout.on('data', (chunk) => {
      run.stdout += String(chunk);
    });
    child.stderr.on('data', (chunk) => {
      run.stderr += String(chunk);
      onStderr?.();
    });
    const done = once(child, 'exit').then(([code, signal]) => {
      run.code = code as number | null;
      run.signal = signal as NodeJS.Signals | null;
      return run;
    });
    return { child, started, done };
  }

  it('keeps both tasks of two `gen task` runs started together', { timeout: 120_000 }, async () => {
    const [alpha, beta] = await Promise.all([
      start(['task', 'api', 'alpha']).done,
      start(['task', 'api', 'beta']).done,
    ]);
    expect(alpha.code, alpha.stderr).toBe(0);
    expect(beta.code, beta.stderr).toBe(0);
    const tasks = readFileSync(join(scratch.dir, 'apps/api/src/tasks.ts'), 'utf8');
    expect(tasks).toContain('createAlphaTask(database)');
    expect(tasks).toContain('createBetaTask(database)');
    const manifest = JSON.parse(readFileSync(join(scratch.dir, 'apps/api/rampart.json'), 'utf8'));
    expect(manifest.applied.map((entry: { answers: { name: string } }) => entry.answers.name).sort()).toEqual(
      ['alpha', 'beta'],
    );
    expect(existsSync(lock())).toBe(false);
  });

  it('takes over the lock of a run that is gone (killed, the machine restarted)', async () => {
    // A process that has exited: its pid is free.
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    });
    const pid = Number(gone.stdout);
    writeFileSync(
      lock(),
      `${JSON.stringify({ pid, host: hostname(), since: '2020-01-01T00:00:00.000Z' })}\n`,
    );
    // It is not waited for: a lock it could not take over would fail the run after 5 s.
    const result = await start(['package', 'ledger'], { RAMPART_GEN_LOCK_WAIT_MS: '5000' }).done;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe('');
    expect(existsSync(join(scratch.dir, 'packages/ledger/package.json'))).toBe(true);
    expect(existsSync(lock())).toBe(false);
  });

  it('waits for a run that holds the workspace, then exits 1 saying so and writes nothing', async () => {
    // This test's own process stands for a gen run that is still writing.
    const held = `${JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() })}\n`;
    writeFileSync(lock(), held);
    const before = scratch.status();
    const result = await start(['package', 'ledger'], { RAMPART_GEN_LOCK_WAIT_MS: '500' }).done;
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`gen: waiting for another gen run (pid ${process.pid}) to finish`);
    expect(result.stderr).toContain(
      `gen: another gen run (pid ${process.pid}) is writing to this workspace and did not finish within 500 ms; nothing was written`,
    );
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(scratch.status()).toBe(before);
    expect(readFileSync(lock(), 'utf8')).toBe(held);
  });

  it('exits 130 and writes nothing on Ctrl-C while it waits', async () => {
    writeFileSync(
      lock(),
      `${JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() })}\n`,
    );
    const before = scratch.status();
    const run = start(['package', 'ledger'], {}, 'gen: waiting for another gen run');
    await run.started;
    run.child.kill('SIGINT');
    const result = await run.done;
    expect({ code: result.code, signal: result.signal }, result.stderr).toEqual({ code: 130, signal: null });
    expect(result.stderr).toContain('gen: interrupted by SIGINT; nothing was written');
    expect(scratch.status()).toBe(before);
  });
});
