import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyChanges } from './staged-write.ts';

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
      { path: 'existing.txt', content: 'updated', kind: 'update' },
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
      applyChanges(root, [{ path: 'missing.txt', content: 'x', kind: 'update' }]),
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
        { path: 'existing.txt', content: 'changed', kind: 'update' },
        { path: 'blocker/child.txt', content: 'never', kind: 'create' },
      ]),
    ).rejects.toMatchObject({ code: 'RAMPART_GEN_WRITE_FAILED' });
    expect(tree()).toEqual(['blocker', 'existing.txt']);
    expect(readFileSync(join(root, 'existing.txt'), 'utf8')).toBe('old');
  });

  it('refuses paths outside the root', async () => {
    mkdirSync(join(root, 'inner'));
    await expect(
      applyChanges(join(root, 'inner'), [{ path: '../escape.txt', content: 'x', kind: 'create' }]),
    ).rejects.toMatchObject({
      code: 'RAMPART_GEN_INVALID_ANSWER',
    });
  });
});
