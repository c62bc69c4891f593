import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { GenError } from './errors.ts';

export interface Workspace {
  /** Absolute path of the workspace root (the folder with pnpm-workspace.yaml). */
  root: string;
  /** npm scope of the workspace's packages, e.g. "@rampart". */
  scope: string;
  /** Names of the folders under packages/ and apps/. */
  packages: string[];
  apps: string[];
  /**
   * Every workspace package (each folder the `packages:` globs of pnpm-workspace.yaml match that has a
   * package.json with a name): its name, e.g. "@rampart/doctor", and its folder, e.g. "tooling/doctor".
   */
  packageNames: ReadonlyMap<string, string>;
}

/** Finds the workspace root at or above `from` and reads what generators need from it. */
export function readWorkspace(from: string): Workspace {
  let dir = resolve(from);
  while (!existsSync(join(dir, 'pnpm-workspace.yaml'))) {
    const parent = dirname(dir);
    if (parent === dir)
      throw new GenError('RAMPART_GEN_NOT_A_WORKSPACE', `no pnpm-workspace.yaml at or above ${from}`);
    dir = parent;
  }
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
    rampart?: { scope?: unknown };
  };
  const scope = manifest.rampart?.scope;
  if (typeof scope !== 'string' || !/^@[a-z0-9][a-z0-9-._]*$/.test(scope)) {
    throw new GenError(
      'RAMPART_GEN_NOT_A_WORKSPACE',
      `${join(dir, 'package.json')} has no valid "rampart.scope"`,
    );
  }
  return {
    root: dir,
    scope,
    packages: folders(join(dir, 'packages')),
    apps: folders(join(dir, 'apps')),
    packageNames: workspacePackages(dir),
  };
}

/** The `packages:` list of pnpm-workspace.yaml: globs, and `!globs` that exclude. */
export function workspaceGlobs(yaml: string): { include: string[]; exclude: string[] } {
  const include: string[] = [];
  const exclude: string[] = [];
  let inList = false;
  for (const line of yaml.split(/\r?\n/)) {
    if (/^packages\s*:\s*(#.*)?$/.test(line)) {
      inList = true;
      continue;
    }
    if (!inList || /^\s*(#.*)?$/.test(line)) continue;
    const item = /^\s+-\s*(?:"([^"]*)"|'([^']*)'|([^\s#]+))\s*(#.*)?$/.exec(line);
    if (!item) {
      inList = false;
      continue;
    }
    const glob = (item[1] ?? item[2] ?? item[3] ?? '').replace(/^\.\//, '').replace(/\/+$/, '');
    if (glob.startsWith('!')) exclude.push(glob.slice(1).replace(/^\.\//, ''));
    else if (glob) include.push(glob);
  }
  return { include, exclude };
}

/** A glob's segment (`*`, `?`, `{a,b}`) as a regular expression. */
function segmentPattern(segment: string): RegExp {
  const source = segment
    .replace(/[.+^$()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '[^/]*')
    .replace(/\?/g, '[^/]')
    .replace(/\{([^{}]*)\}/g, (_whole, list: string) => `(?:${list.split(',').join('|')})`);
  return new RegExp(`^${source}$`);
}

/** Folders under `root` (relative, with forward slashes) that the glob matches; never node_modules. */
function expandGlob(root: string, glob: string): string[] {
  const found: string[] = [];
  const walk = (base: string, segments: readonly string[]): void => {
    const [head, ...rest] = segments;
    if (head === undefined) {
      found.push(base);
      return;
    }
    const dir = join(root, base);
    if (head === '**') {
      walk(base, rest);
      for (const entry of subfolders(dir)) walk(base ? `${base}/${entry}` : entry, segments);
      return;
    }
    if (!/[*?{]/.test(head)) {
      const next = base ? `${base}/${head}` : head;
      if (existsSync(join(root, next))) walk(next, rest);
      return;
    }
    const pattern = segmentPattern(head);
    for (const entry of subfolders(dir)) {
      if (pattern.test(entry)) walk(base ? `${base}/${entry}` : entry, rest);
    }
  };
  walk(
    '',
    glob.split('/').filter((segment) => segment !== '' && segment !== '.'),
  );
  return found;
}

function subfolders(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && entry.name !== 'node_modules' && !entry.name.startsWith('.'))
    .map((entry) => entry.name);
}

/** Name -> folder of every package the workspace's globs take in (what pnpm and turbo see). */
function workspacePackages(root: string): Map<string, string> {
  const { include, exclude } = workspaceGlobs(readFileSync(join(root, 'pnpm-workspace.yaml'), 'utf8'));
  const excluded = new Set(exclude.flatMap((glob) => expandGlob(root, glob)));
  const names = new Map<string, string>();
  for (const folder of [...new Set(include.flatMap((glob) => expandGlob(root, glob)))].sort()) {
    if (excluded.has(folder)) continue;
    const manifest = join(root, folder, 'package.json');
    if (!existsSync(manifest)) continue;
    let name: unknown;
    try {
      name = (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name;
    } catch {
      continue; // not ours to judge here; pnpm reports a broken manifest itself
    }
    if (typeof name === 'string' && !names.has(name)) names.set(name, folder);
  }
  return names;
}

function folders(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
}

/**
 * A message when `<scope>/<name>` is already the name of a workspace package (pnpm and turbo refuse a
 * workspace where two packages share a name), or undefined when it is free.
 */
export function packageNameTaken(workspace: Workspace, name: string): string | undefined {
  const full = `${workspace.scope}/${name}`;
  const folder = workspace.packageNames.get(full);
  if (folder === undefined) return undefined;
  return `"${full}" is already the name of the workspace package in ${folder}; choose another name`;
}
