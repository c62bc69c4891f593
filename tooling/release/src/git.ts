import { runCommand } from './run-command.ts';

/** `git status --porcelain` lines (untracked files included, ignored ones not). */
export async function gitChanges(root: string): Promise<string[]> {
  const { stdout } = await runCommand('git', ['status', '--porcelain', '--untracked-files=all'], {
    cwd: root,
    failWith: 'RAMPART_RELEASE_COMMAND_FAILED',
  });
  return stdout.split('\n').filter((line) => line.trim() !== '');
}

/** Stages everything and commits it. */
export async function gitCommitAll(root: string, subject: string, body: string): Promise<void> {
  await runCommand('git', ['add', '--all'], { cwd: root, failWith: 'RAMPART_RELEASE_COMMAND_FAILED' });
  await runCommand('git', ['commit', '--quiet', '--no-verify', '-m', subject, '-m', body], {
    cwd: root,
    failWith: 'RAMPART_RELEASE_COMMAND_FAILED',
  });
}

/** Tags pointing at HEAD. */
export async function gitTagsAtHead(root: string): Promise<string[]> {
  const { stdout } = await runCommand('git', ['tag', '--points-at', 'HEAD'], {
    cwd: root,
    failWith: 'RAMPART_RELEASE_COMMAND_FAILED',
  });
  return stdout
    .split('\n')
    .filter((line) => line !== '')
    .sort();
}
