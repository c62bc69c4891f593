import { randomBytes } from 'node:crypto';
import {
  closeSync,
  linkSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { GenError } from './errors.ts';
import { throwIfInterrupted } from './interrupt.ts';

/** The lock file in the workspace root, there while a run plans and writes. */
export const LOCK_FILE = '.rampart-gen.lock';

/** How long a run waits for another one before it gives up (`RAMPART_GEN_LOCK_WAIT_MS` overrides). */
const DEFAULT_WAIT_MS = 120_000;
const POLL_MS = 100;
/** A lock file still empty after this long lost its writer between creating and writing it. */
const EMPTY_LOCK_STALE_MS = 10_000;

interface Holder {
  text: string;
  pid?: number;
  host?: string;
  modifiedMs: number;
}

export interface LockOptions {
  /** Called once, when the lock is held by another run and this one starts waiting. */
  onWait?(holder: string): void;
  waitMs?: number;
}

/**
 * Serialises `gen` runs on one workspace: each holds `<root>/.rampart-gen.lock` (created with O_EXCL, so
 * only one run can) from before it reads the files it plans from until its last file is written, and a
 * second run waits for it, so it plans from what the first one wrote instead of overwriting it. A lock
 * whose process is gone (killed with SIGKILL, the machine restarted) is taken over. Gives up with
 * RAMPART_GEN_BUSY after `waitMs`, and with RAMPART_GEN_INTERRUPTED on a held signal. Returns the release,
 * which removes the file only while it is still this run's.
 */
export async function lockWorkspace(root: string, options: LockOptions = {}): Promise<() => void> {
  const path = join(root, LOCK_FILE);
  const mine = `${JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() })}\n`;
  const waitMs = options.waitMs ?? waitFromEnvironment();
  const deadline = Date.now() + waitMs;
  let waiting = false;
  for (;;) {
    throwIfInterrupted();
    if (tryCreate(path, mine)) return () => release(path, mine);
    const holder = readHolder(path);
    if (!holder) continue; // released meanwhile: try again at once
    if (isStale(holder)) {
      takeOver(path, holder.text);
      continue;
    }
    const who = holder.pid === undefined ? 'another gen run' : `another gen run (pid ${holder.pid})`;
    if (Date.now() >= deadline) {
      throw new GenError(
        'RAMPART_GEN_BUSY',
        `${who} is writing to this workspace and did not finish within ${waitMs < 10_000 ? `${waitMs} ms` : `${Math.round(waitMs / 1000)} s`}; nothing was written. Run the generator again when it is done (if no gen is running, remove ${path})`,
      );
    }
    if (!waiting) {
      waiting = true;
      options.onWait?.(who);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

function waitFromEnvironment(): number {
  const value = process.env.RAMPART_GEN_LOCK_WAIT_MS;
  if (value === undefined || value === '') return DEFAULT_WAIT_MS;
  if (!/^\d+$/.test(value)) {
    throw new GenError(
      'RAMPART_GEN_BAD_ARGUMENTS',
      `RAMPART_GEN_LOCK_WAIT_MS="${value}" must be a whole number of milliseconds`,
    );
  }
  return Number(value);
}

function tryCreate(path: string, content: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new GenError(
      'RAMPART_GEN_WRITE_FAILED',
      `cannot create ${path} (${(error as Error).message}); nothing was written`,
      { cause: error },
    );
  }
  try {
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
  return true;
}

function readHolder(path: string): Holder | undefined {
  try {
    const modifiedMs = statSync(path).mtimeMs;
    const text = readFileSync(path, 'utf8');
    try {
      const parsed = JSON.parse(text) as { pid?: unknown; host?: unknown };
      return {
        text,
        modifiedMs,
        pid: Number.isSafeInteger(parsed.pid) ? (parsed.pid as number) : undefined,
        host: typeof parsed.host === 'string' ? parsed.host : undefined,
      };
    } catch {
      return { text, modifiedMs }; // being written, or not ours
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new GenError(
      'RAMPART_GEN_WRITE_FAILED',
      `cannot read ${path} (${(error as Error).message}); nothing was written`,
      { cause: error },
    );
  }
}

/** A lock whose process is gone on this machine, or one that never got its content. */
function isStale(holder: Holder): boolean {
  if (holder.pid === undefined) {
    return holder.text === '' && Date.now() - holder.modifiedMs > EMPTY_LOCK_STALE_MS;
  }
  if (holder.host !== hostname()) return false; // another machine's (a shared folder): cannot tell
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (error) {
    // EPERM: alive, another user's.
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Removes the stale lock `stale`, and only it: the file is first moved aside (one rename, which one run
 * wins) and checked; a lock another run took over with in the meantime is linked back unless a newer one
 * exists already.
 */
function takeOver(path: string, stale: string): void {
  const aside = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
  try {
    renameSync(path, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  try {
    if (readFileSync(aside, 'utf8') === stale) return;
    try {
      linkSync(aside, path);
    } catch {
      // A newer lock holds the path; the workspace is still held.
    }
  } finally {
    rmSync(aside, { force: true });
  }
}

function release(path: string, mine: string): void {
  try {
    if (readFileSync(path, 'utf8') === mine) rmSync(path, { force: true });
  } catch {
    // Gone already: nothing to release.
  }
}
