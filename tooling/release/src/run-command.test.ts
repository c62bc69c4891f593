import { afterEach, describe, expect, it } from 'vitest';
import { childEnv, runCommand } from './run-command.ts';

const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
});

describe('childEnv', () => {
  it("drops the outer pnpm/npm/turbo run's variables and keeps the rest", () => {
    process.env.npm_config_registry = 'https://outer.invalid/';
    process.env.PNPM_CONFIG_REGISTRY = 'https://outer.invalid/';
    process.env.TURBO_HASH = 'abc';
    process.env.RAMPART_KEEP = 'yes';
    const env = childEnv({ PNPM_CONFIG_REGISTRY: 'http://127.0.0.1:1/' });
    expect(env.npm_config_registry).toBeUndefined();
    expect(env.TURBO_HASH).toBeUndefined();
    expect(env.RAMPART_KEEP).toBe('yes');
    expect(env.PATH).toBe(process.env.PATH);
    expect(env.PNPM_CONFIG_REGISTRY).toBe('http://127.0.0.1:1/');
  });
});

describe('runCommand', () => {
  it('returns the output of a real child process', async () => {
    const seen: string[] = [];
    const result = await runCommand(process.execPath, ['-e', 'console.log("out"); console.error("err")'], {
      cwd: import.meta.dirname,
      onOutput: (text) => seen.push(text),
    });
    expect(result).toEqual({ code: 0, stdout: 'out\n', stderr: 'err\n' });
    expect(seen.join('')).toContain('out');
  });

  it('rejects with the chosen code, the command and the tail of its output on a non-zero exit', async () => {
    const failing = runCommand(process.execPath, ['-e', 'console.error("boom"); process.exit(3)'], {
      cwd: import.meta.dirname,
      failWith: 'RAMPART_RELEASE_BUILD_FAILED',
    });
    await expect(failing).rejects.toMatchObject({
      code: 'RAMPART_RELEASE_BUILD_FAILED',
      message: expect.stringMatching(/exited 3[\s\S]*boom/),
    });
  });

  it('resolves with the exit code when no failure code is given, and rejects when the command is missing', async () => {
    const result = await runCommand(process.execPath, ['-e', 'process.exit(5)'], {
      cwd: import.meta.dirname,
    });
    expect(result.code).toBe(5);
    await expect(
      runCommand('rampart-no-such-command', [], {
        cwd: import.meta.dirname,
        failWith: 'RAMPART_RELEASE_COMMAND_FAILED',
      }),
    ).rejects.toMatchObject({
      code: 'RAMPART_RELEASE_COMMAND_FAILED',
      cause: expect.objectContaining({ code: 'ENOENT' }),
    });
  });
});
