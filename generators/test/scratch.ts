import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const workspaceRoot = fileURLToPath(new URL('../../', import.meta.url));

export interface Scratch {
  dir: string;
  /** Runs `pnpm gen ...` as a real process with no terminal; returns exit code and output. */
  gen(...args: string[]): { code: number; stdout: string; stderr: string };
  /** `git status --porcelain` of the scratch copy: empty when nothing changed since the copy. */
  status(): string;
  run(command: string, args: string[], cwd?: string): { code: number; output: string };
  remove(): void;
}

/**
 * Copies the workspace's tracked and untracked-but-not-ignored files into a temporary folder and makes it
 * a git repository with one commit (after an offline install; node_modules is ignored), so a test can generate into it and ask git what changed.
 */
export function createScratch(): Scratch {
  const dir = mkdtempSync(join(tmpdir(), 'rampart-gen-'));
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: workspaceRoot,
    encoding: 'utf8',
  })
    .split('\0')
    .filter(Boolean);
  for (const file of files) {
    try {
      mkdirSync(join(dir, dirname(file)), { recursive: true });
      cpSync(join(workspaceRoot, file), join(dir, file));
    } catch {
      // listed by git but deleted in the work tree
    }
  }
  // Built packages too (dist is ignored by git): the generators import @rampart/observability's build.
  for (const pkg of readdirSync(join(workspaceRoot, 'packages'))) {
    const dist = join(workspaceRoot, 'packages', pkg, 'dist');
    if (existsSync(dist)) cpSync(dist, join(dir, 'packages', pkg, 'dist'), { recursive: true });
  }
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, encoding: 'utf8' });
  // From the local store only: the scratch copy must never need the network.
  execFileSync('pnpm', ['install', '--offline', '--frozen-lockfile', '--reporter=silent'], {
    cwd: dir,
    stdio: 'pipe',
  });
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('-c', 'user.name=test', '-c', 'user.email=test@example.invalid', 'commit', '-q', '-m', 'scratch');

  const run = (command: string, args: string[], cwd = dir) => {
    const result = spawnSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return { code: result.status ?? 1, output: `${result.stdout}${result.stderr}` };
  };
  return {
    dir,
    gen(...args) {
      const result = spawnSync(process.execPath, [join(dir, 'generators/src/cli.ts'), ...args], {
        cwd: dir,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, INIT_CWD: dir },
      });
      return { code: result.status ?? 1, stdout: result.stdout, stderr: result.stderr };
    },
    status: () => git('status', '--porcelain'),
    run,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
