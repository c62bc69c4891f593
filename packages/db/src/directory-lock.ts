import {
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmdirSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { DbError } from './errors.ts';

/** The lock file PGlite directories carry while a process has them open. */
export const LOCK_FILE_NAME = '.rampart.lock';

interface LockOwner {
  pid: number;
  host: string;
  /** The process start time from /proc (Linux), so a recycled pid is not mistaken for the owner. */
  start: string | null;
}

export interface DirectoryLock {
  readonly path: string;
  release(): void;
}

function processStart(pid: number): string | null {
  try {
    // Field 22 of /proc/<pid>/stat; the command name (field 2) may hold spaces, so split after its ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

function isAlive(owner: LockOwner): boolean {
  // Another machine (a shared network disk): we cannot tell, so the lock holds.
  if (owner.host !== hostname()) return true;
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  const start = processStart(owner.pid);
  return owner.start === null || start === null || start === owner.start;
}

function readOwner(path: string): LockOwner | 'missing' | 'unreadable' {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'unreadable';
  }
  try {
    const parsed = JSON.parse(text) as Partial<LockOwner>;
    if (typeof parsed.pid === 'number' && typeof parsed.host === 'string') {
      return {
        pid: parsed.pid,
        host: parsed.host,
        start: typeof parsed.start === 'string' ? parsed.start : null,
      };
    }
  } catch {
    // fall through: a half-written file from a writer that is still running or was killed mid-write
  }
  return 'unreadable';
}

function tryCreate(path: string, owner: LockOwner): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    writeSync(fd, JSON.stringify(owner));
  } finally {
    closeSync(fd);
  }
  return true;
}

function ageMs(path: string): number {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

/**
 * Takes the single-process lock of a PGlite data directory. PGlite itself does not lock (a second process
 * would open the same files and corrupt them), so we keep an O_EXCL lock file with the owner's pid; a
 * lock left by a killed process (pid gone or recycled) is taken over.
 */
export function lockDirectory(dataDir: string): DirectoryLock {
  const path = join(dataDir, LOCK_FILE_NAME);
  const takeover = `${path}.takeover`;
  const me: LockOwner = { pid: process.pid, host: hostname(), start: processStart(process.pid) };

  for (let attempt = 0; attempt < 5; attempt += 1) {
    if (tryCreate(path, me)) return makeLock(path, me);
    const owner = readOwner(path);
    if (owner === 'missing') continue;
    if (owner === 'unreadable' ? ageMs(path) < 5_000 : isAlive(owner)) {
      const who = owner === 'unreadable' ? 'a process that is still writing its lock' : `pid ${owner.pid}`;
      throw new DbError('RAMPART_DB_DIRECTORY_LOCKED', { detail: `${dataDir} is held by ${who}` });
    }
    // Stale. Only one process may replace it: the takeover directory is the mutex (mkdir is atomic).
    try {
      mkdirSync(takeover);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (ageMs(takeover) > 10_000) rmdirSync(takeover);
      continue;
    }
    try {
      const again = readOwner(path);
      const same =
        again === 'unreadable' ||
        (again !== 'missing' &&
          owner !== 'unreadable' &&
          again.pid === owner.pid &&
          again.start === owner.start);
      if (same) unlinkSync(path);
      if (tryCreate(path, me)) return makeLock(path, me);
    } finally {
      rmdirSync(takeover);
    }
  }
  throw new DbError('RAMPART_DB_DIRECTORY_LOCKED', { detail: `${dataDir}: the lock kept changing hands` });
}

function makeLock(path: string, me: LockOwner): DirectoryLock {
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    process.removeListener('exit', release);
    const owner = readOwner(path);
    if (owner !== 'missing' && owner !== 'unreadable' && owner.pid === me.pid && owner.start === me.start) {
      try {
        unlinkSync(path);
      } catch {
        // already gone: nothing to release
      }
    }
  };
  // A normal exit without close() still frees the directory; SIGKILL leaves a stale lock we take over later.
  process.on('exit', release);
  return { path, release };
}
