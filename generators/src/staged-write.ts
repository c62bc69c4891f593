import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { GenError, isGenError } from './errors.ts';
import { holdSignals, throwIfInterrupted } from './interrupt.ts';

/**
 * One file of a plan. `create` refuses an existing file. `update` refuses a missing one, and one whose
 * content is no longer `original`, the content the plan read and computed `content` from: another run (a
 * second `gen` at the same time) or an editor changed it since, and writing `content` would drop that change.
 */
export type FileChange =
  | {
      /** Path relative to the workspace root, with forward slashes. */
      path: string;
      content: string;
      kind: 'create';
    }
  | {
      /** Path relative to the workspace root, with forward slashes. */
      path: string;
      content: string;
      kind: 'update';
      /** The file's content when the plan read it. */
      original: string;
    };

/**
 * Applies `changes` all or nothing. Every file is first written in full to a staging folder inside the
 * workspace (same filesystem, so the final step is a rename, never a half-written file); only when all
 * of them are staged are they renamed into place. An updated file is compared with the content the plan
 * read (`original`) just before it is replaced, and one that changed since fails the run with
 * RAMPART_GEN_TARGET_CHANGED. If any step fails, created files are removed, updated
 * files get their old content back, and folders the run created are removed again. SIGINT, SIGTERM and
 * SIGHUP are held meanwhile: one that arrives before the last rename stops the run at the next file, the
 * same way back (RAMPART_GEN_INTERRUPTED), and the staging folder is removed whenever it arrives.
 */
export async function applyChanges(root: string, changes: readonly FileChange[]): Promise<void> {
  refuseDuplicatePaths(root, changes);
  const targets = changes.map((change) => ({ change, target: inside(root, change.path) }));
  for (const { change, target } of targets) {
    if (change.kind === 'create' && existsSync(target)) {
      throw new GenError('RAMPART_GEN_TARGET_EXISTS', `${change.path} already exists; nothing was written`);
    }
    if (change.kind === 'update' && !existsSync(target)) {
      throw new GenError('RAMPART_GEN_TARGET_MISSING', `${change.path} does not exist; nothing was written`);
    }
  }

  const release = holdSignals();
  const staging = join(root, `.gen-staging-${randomBytes(6).toString('hex')}`);
  const createdDirs: string[] = [];
  const done: { target: string; backup?: string }[] = [];
  try {
    throwIfInterrupted();
    for (const [index, { change }] of targets.entries()) {
      const staged = join(staging, String(index));
      await mkdir(dirname(staged), { recursive: true });
      await writeFile(staged, change.content);
      throwIfInterrupted();
    }
    for (const [index, { change, target }] of targets.entries()) {
      let backup: string | undefined;
      if (change.kind === 'update') {
        backup = join(staging, `${index}.orig`);
        const current = await readFile(target);
        // A signal that arrived meanwhile is what stopped the run, whatever the file holds.
        throwIfInterrupted();
        if (current.toString('utf8') !== change.original) {
          throw new GenError(
            'RAMPART_GEN_TARGET_CHANGED',
            `${change.path} changed after the generator read it (another gen run at the same time, or an editor); nothing was written. Run the generator again`,
          );
        }
        await writeFile(backup, current);
      } else {
        await mkdirTracked(dirname(target), createdDirs);
      }
      throwIfInterrupted();
      await rename(join(staging, String(index)), target);
      done.push(backup ? { target, backup } : { target });
    }
  } catch (error) {
    for (const { target, backup } of done.reverse()) {
      if (backup) await rename(backup, target).catch(() => undefined);
      else await rm(target, { force: true }).catch(() => undefined);
    }
    for (const dir of createdDirs.reverse()) await rmdir(dir).catch(() => undefined);
    if (
      isGenError(error) &&
      (error.code === 'RAMPART_GEN_INTERRUPTED' || error.code === 'RAMPART_GEN_TARGET_CHANGED')
    ) {
      throw error;
    }
    throw new GenError(
      'RAMPART_GEN_WRITE_FAILED',
      `writing failed (${(error as Error).message}); nothing was kept`,
      {
        cause: error,
      },
    );
  } finally {
    await rm(staging, { recursive: true, force: true });
    release();
  }
}

/**
 * A plan that writes one path twice is a generator bug (the second write would silently replace the
 * first): refused, naming the path, before anything is written.
 */
export function refuseDuplicatePaths(root: string, changes: readonly FileChange[]): void {
  const seen = new Map<string, string>();
  for (const change of changes) {
    const target = inside(root, change.path);
    const first = seen.get(target);
    if (first !== undefined) {
      throw new GenError(
        'RAMPART_GEN_DUPLICATE_PATH',
        `the generator planned ${first === change.path ? first : `${first} and ${change.path}`} twice (a generator bug); nothing was written`,
      );
    }
    seen.set(target, change.path);
  }
}

/** Resolves `path` under `root`, refusing anything that would land outside it. */
function inside(root: string, path: string): string {
  const target = resolve(root, path);
  if (!target.startsWith(resolve(root) + sep)) {
    throw new GenError('RAMPART_GEN_INVALID_ANSWER', `${path} is outside the workspace`);
  }
  return target;
}

async function mkdirTracked(dir: string, created: string[]): Promise<void> {
  const missing: string[] = [];
  for (let current = dir; !existsSync(current); current = dirname(current)) missing.unshift(current);
  for (const path of missing) {
    await mkdir(path);
    created.push(path);
  }
}

/** Paths relative to the root, for printing. */
export function describeChanges(changes: readonly FileChange[]): string[] {
  return changes.map((change) => `${change.kind === 'create' ? 'create' : 'update'}  ${change.path}`);
}
