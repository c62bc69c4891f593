import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LOCK_FILE_NAME, lockDirectory } from './directory-lock.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rampart-lock-'));
  dirs.push(dir);
  return dir;
}
const deadPid = (): number => {
  // A pid that existed and is gone: a child that has already exited.
  const child = spawnSync(process.execPath, ['-e', '0']);
  return child.pid!;
};

describe('lockDirectory', () => {
  it('is exclusive while held and free again once released', () => {
    const dir = tempDir();
    const lock = lockDirectory(dir);
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE_NAME), 'utf8'))).toMatchObject({ pid: process.pid });
    expect(() => lockDirectory(dir)).toThrow(
      expect.objectContaining({ code: 'RAMPART_DB_DIRECTORY_LOCKED' }),
    );
    lock.release();
    lock.release();
    expect(existsSync(join(dir, LOCK_FILE_NAME))).toBe(false);
    lockDirectory(dir).release();
  });

  it('takes over a lock whose process is gone', () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, LOCK_FILE_NAME),
      JSON.stringify({ pid: deadPid(), host: hostname(), start: null }),
    );
    const lock = lockDirectory(dir);
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE_NAME), 'utf8'))).toMatchObject({ pid: process.pid });
    lock.release();
  });

  it('takes over a lock whose pid was recycled by another process', () => {
    const dir = tempDir();
    // Our own pid, but a different start time: the owner died and the pid was reused.
    writeFileSync(
      join(dir, LOCK_FILE_NAME),
      JSON.stringify({ pid: process.pid, host: hostname(), start: '1' }),
    );
    lockDirectory(dir).release();
  });

  it('respects a lock from another host and a lock being written right now', () => {
    const dir = tempDir();
    const path = join(dir, LOCK_FILE_NAME);
    writeFileSync(path, JSON.stringify({ pid: deadPid(), host: 'some-other-host', start: null }));
    expect(() => lockDirectory(dir)).toThrow(
      expect.objectContaining({ code: 'RAMPART_DB_DIRECTORY_LOCKED' }),
    );
    writeFileSync(path, '{"pid":');
    expect(() => lockDirectory(dir)).toThrow(
      expect.objectContaining({ code: 'RAMPART_DB_DIRECTORY_LOCKED' }),
    );
    // A half-written lock that stayed that way for long is a writer killed mid-write: stale.
    const old = new Date(Date.now() - 60_000);
    utimesSync(path, old, old);
    lockDirectory(dir).release();
  });
});
