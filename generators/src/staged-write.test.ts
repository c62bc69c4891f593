import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyChanges } from './staged-write.ts';

const stagedWrite = fileURLToPath(new URL('./staged-write.ts', import.meta.url));

describe('applyChanges', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'rampart-stage-'));
    writeFileSync(join(root, 'existing.txt'), 'old');
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const tree = () => readdirSync(root, { recursive: true }).map(String).sort();

  it('creates and updates files, leaving no staging folder behind', async () => {
    await applyChanges(root, [
      { path: 'a/b/new.txt', content: 'new', kind: 'create' },
      { path: 'existing.txt', content: 'updated', kind: 'update', original: 'old' },
    ]);
    expect(readFileSync(join(root, 'a/b/new.txt'), 'utf8')).toBe('new');
    expect(readFileSync(join(root, 'existing.txt'), 'utf8')).toBe('updated');
    expect(tree()).toEqual(['a', 'a/b', 'a/b/new.txt', 'existing.txt']);
  });

  it('refuses to create over an existing file before writing anything', async () => {
    await expect(
      applyChanges(root, [
        { path: 'fresh.txt', content: 'x', kind: 'create' },
        { path: 'existing.txt', content: 'x', kind: 'create' },
      ]),
    ).rejects.toMatchObject({ code: 'RAMPART_GEN_TARGET_EXISTS' });
    expect(tree()).toEqual(['existing.txt']);
  });

  it('refuses to update a missing file', async () => {
    await expect(
      applyChanges(root, [{ path: 'missing.txt', content: 'x', kind: 'update', original: '' }]),
    ).rejects.toMatchObject({
      code: 'RAMPART_GEN_TARGET_MISSING',
    });
  });

  it('rolls back every created file, folder and update when a later rename fails', async () => {
    // `blocker` is a file, so creating `blocker/child.txt` fails after the first two changes were applied.
    writeFileSync(join(root, 'blocker'), 'i am a file');
    await expect(
      applyChanges(root, [
        { path: 'x/y/first.txt', content: 'first', kind: 'create' },
        { path: 'existing.txt', content: 'changed', kind: 'update', original: 'old' },
        { path: 'blocker/child.txt', content: 'never', kind: 'create' },
      ]),
    ).rejects.toMatchObject({ code: 'RAMPART_GEN_WRITE_FAILED' });
    expect(tree()).toEqual(['blocker', 'existing.txt']);
    expect(readFileSync(join(root, 'existing.txt'), 'utf8')).toBe('old');
  });

  // What a second `gen` run (or an editor) did to a file between this plan's read and its commit is kept: the
  // plan was computed from the old content, so writing it would silently drop that change.
  it('refuses to replace a file that changed after the plan read it, and puts back what it had written', async () => {
    writeFileSync(join(root, 'second.txt'), 'second, as planned');
    writeFileSync(join(root, 'existing.txt'), 'old, then edited by another run');
    await expect(
      applyChanges(root, [
        { path: 'a/new.txt', content: 'new', kind: 'create' },
        { path: 'second.txt', content: 'second, updated', kind: 'update', original: 'second, as planned' },
        { path: 'existing.txt', content: 'old, updated by this run', kind: 'update', original: 'old' },
      ]),
    ).rejects.toMatchObject({
      code: 'RAMPART_GEN_TARGET_CHANGED',
      message: expect.stringContaining('existing.txt changed after the generator read it'),
    });
    expect(tree()).toEqual(['existing.txt', 'second.txt']);
    expect(readFileSync(join(root, 'existing.txt'), 'utf8')).toBe('old, then edited by another run');
    expect(readFileSync(join(root, 'second.txt'), 'utf8')).toBe('second, as planned');
  });

  it('refuses paths outside the root', async () => {
    mkdirSync(join(root, 'inner'));
    await expect(
      applyChanges(join(root, 'inner'), [{ path: '../escape.txt', content: 'x', kind: 'create' }]),
    ).rejects.toMatchObject({
      code: 'RAMPART_GEN_INVALID_ANSWER',
    });
  });

  it('refuses a plan that writes one path twice, before writing anything', async () => {
    await expect(
      applyChanges(root, [
        { path: 'pkg/src/errors.ts', content: 'first', kind: 'create' },
        { path: 'pkg/src/index.ts', content: 'index', kind: 'create' },
        { path: 'pkg/src/./errors.ts', content: 'second', kind: 'create' },
      ]),
    ).rejects.toMatchObject({
      code: 'RAMPART_GEN_DUPLICATE_PATH',
      message: expect.stringContaining('pkg/src/errors.ts and pkg/src/./errors.ts twice'),
    });
    await expect(
      applyChanges(root, [
        { path: 'existing.txt', content: 'a', kind: 'update', original: 'old' },
        { path: 'existing.txt', content: 'b', kind: 'update', original: 'old' },
      ]),
    ).rejects.toMatchObject({ code: 'RAMPART_GEN_DUPLICATE_PATH' });
    expect(tree()).toEqual(['existing.txt']);
    expect(readFileSync(join(root, 'existing.txt'), 'utf8')).toBe('old');
  });

  // A real process and a real signal. The commit is paused at a known point by making one file to update a
  // FIFO: backing it up reads it, which blocks until this test writes to it, after the files before it are
  // renamed into place and after the signal was sent.
  it.each(['SIGINT', 'SIGTERM', 'SIGHUP'] as const)(
    'on %s during the commit, puts back what was renamed, removes the staging folder and reports the interruption',
    async (signal) => {
      mkdirSync(join(root, 'kept'));
      writeFileSync(join(root, 'kept/updated.txt'), 'old content');
      execFileSync('mkfifo', [join(root, 'pause')]);
      const changes = [
        { path: 'new/deep/first.txt', content: 'first', kind: 'create' },
        { path: 'kept/updated.txt', content: 'new content', kind: 'update', original: 'old content' },
        { path: 'pause', content: 'never', kind: 'update', original: 'unblocked' },
        { path: 'new/last.txt', content: 'last', kind: 'create' },
      ];
      const script = `
        import { applyChanges } from ${JSON.stringify(stagedWrite)};
        applyChanges(${JSON.stringify(root)}, ${JSON.stringify(changes)}).then(
          () => process.exit(0),
          (error) => {
            process.stderr.write(error.code + ': ' + error.message);
            process.exit(error.code === 'RAMPART_GEN_INTERRUPTED' ? 3 : 1);
          },
        );
      `;
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (chunk) => {
        stderr += String(chunk);
      });
      const exited = once(child, 'exit');
      // The files before the FIFO are in place: the commit is under way and waits on the FIFO.
      const deadline = Date.now() + 20_000;
      while (readFileSync(join(root, 'kept/updated.txt'), 'utf8') !== 'new content') {
        expect(Date.now(), `the commit never reached the FIFO: ${stderr}`).toBeLessThan(deadline);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(readFileSync(join(root, 'new/deep/first.txt'), 'utf8')).toBe('first');
      child.kill(signal);
      // Give the signal time to land (with no handler it would end the process here, mid-commit).
      await new Promise((resolve) => setTimeout(resolve, 200));
      // Non-blocking: with no reader left (the signal ended the process) this fails at once with ENXIO.
      const fifo = openSync(join(root, 'pause'), constants.O_WRONLY | constants.O_NONBLOCK);
      writeSync(fifo, 'unblocked');
      closeSync(fifo);
      const [code, killedBy] = (await exited) as [number | null, NodeJS.Signals | null];

      expect({ code, killedBy }).toEqual({ code: 3, killedBy: null });
      expect(stderr).toContain(`RAMPART_GEN_INTERRUPTED: interrupted by ${signal}; nothing was written`);
      expect(tree()).toEqual(['existing.txt', 'kept', 'kept/updated.txt', 'pause']);
      expect(readFileSync(join(root, 'kept/updated.txt'), 'utf8')).toBe('old content');
      expect(statSync(join(root, 'pause')).isFIFO()).toBe(true);
      expect(existsSync(join(root, 'new'))).toBe(false);
    },
  );
});
