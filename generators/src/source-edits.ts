import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GenError } from './errors.ts';
import type { Workspace } from './workspace.ts';

/**
 * Edits of files a generator did not write but must extend (a service's app.ts, tasks.ts, env.ts...). Each
 * edit finds a spot by the shape the service template gives the file; a file changed so far that the spot
 * is gone fails with RAMPART_GEN_ANCHOR_MISSING naming the file and what to add by hand, never a guess.
 */
export function readTarget(workspace: Workspace, path: string): string {
  const file = join(workspace.root, path);
  if (!existsSync(file)) {
    throw new GenError('RAMPART_GEN_TARGET_MISSING', `${path} does not exist; nothing was written`);
  }
  return readFileSync(file, 'utf8');
}

export function anchorMissing(path: string, what: string, addByHand: string): GenError {
  return new GenError(
    'RAMPART_GEN_ANCHOR_MISSING',
    `${path} no longer has ${what}, so the generator cannot extend it; nothing was written. Add this by hand, or restore the shape the service template gives it:\n  ${addByHand}`,
  );
}

const IMPORT = /^import\s[\s\S]*?\sfrom\s+'[^']+';$/gm;

/** Adds `line` after the file's last import (Biome then sorts the imports); a present line is kept once. */
export function addImport(source: string, line: string, path: string): string {
  if (source.includes(line)) return source;
  let end = -1;
  for (const match of source.matchAll(IMPORT)) end = match.index + match[0].length;
  if (end === -1) throw anchorMissing(path, 'any import statement', line);
  return `${source.slice(0, end)}\n${line}${source.slice(end)}`;
}

/** Replaces the one match of `pattern`; none fails with the anchor error. */
export function replaceOnce(
  source: string,
  pattern: RegExp,
  replace: (...groups: string[]) => string,
  path: string,
  what: string,
  addByHand: string,
): string {
  const match = pattern.exec(source);
  if (!match) throw anchorMissing(path, what, addByHand);
  return source.slice(0, match.index) + replace(...match) + source.slice(match.index + match[0].length);
}
