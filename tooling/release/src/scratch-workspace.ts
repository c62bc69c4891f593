import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ReleaseError } from './errors.ts';
import { runCommand } from './run-command.ts';

/**
 * Copies a git work tree's files (tracked, plus untracked ones that are not ignored: what `git add -A`
 * would take) into `dest`, then makes `dest` a fresh git repository on `main` with one commit. No
 * node_modules, dist or other ignored files come along.
 */
export async function copyWorkspace(source: string, dest: string): Promise<{ files: number }> {
  const { stdout } = await runCommand(
    'git',
    ['ls-files', '-z', '--cached', '--others', '--exclude-standard'],
    {
      cwd: source,
      failWith: 'RAMPART_RELEASE_COMMAND_FAILED',
    },
  );
  const files = [...new Set(stdout.split('\0').filter((file) => file !== ''))];
  let copied = 0;
  for (const file of files) {
    const from = join(source, file);
    // Tracked files deleted in the work tree are listed by --cached but are not part of the copy.
    if (!existsSync(from) || !lstatSync(from).isFile()) continue;
    const to = resolve(dest, file);
    if (!to.startsWith(resolve(dest)))
      throw new ReleaseError('RAMPART_RELEASE_COMMAND_FAILED', `bad path ${file}`);
    mkdirSync(dirname(to), { recursive: true });
    copyFileSync(from, to);
    chmodSync(to, lstatSync(from).mode & 0o777);
    copied++;
  }
  const git = (args: string[]) =>
    runCommand('git', args, { cwd: dest, failWith: 'RAMPART_RELEASE_COMMAND_FAILED' });
  await git(['init', '--quiet', '--initial-branch=main']);
  await git(['config', 'user.name', 'Rampart release test']);
  await git(['config', 'user.email', 'release-test@rampart.invalid']);
  await git(['config', 'commit.gpgsign', 'false']);
  await git(['config', 'tag.gpgsign', 'false']);
  await git(['add', '--all']);
  await git(['commit', '--quiet', '--no-verify', '-m', 'scratch copy of the workspace']);
  return { files: copied };
}
