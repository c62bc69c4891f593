import { existsSync, globSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { ReleaseError } from './errors.ts';

/** The fields of a package.json the release flow reads. */
export interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  exports?: unknown;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

export interface WorkspacePackage {
  name: string;
  version: string;
  /** Absolute directory of the package. */
  dir: string;
  /** Directory relative to the workspace root, with forward slashes. */
  path: string;
  private: boolean;
  manifest: Manifest;
}

export interface Workspace {
  root: string;
  packages: WorkspacePackage[];
}

/**
 * Reads the workspace's packages from the `packages:` globs of pnpm-workspace.yaml (the same list pnpm and
 * changesets use), sorted by path.
 */
export function readWorkspace(rootDir: string): Workspace {
  const root = resolve(rootDir);
  const workspaceFile = join(root, 'pnpm-workspace.yaml');
  if (!existsSync(workspaceFile) || !existsSync(join(root, 'package.json'))) {
    throw new ReleaseError(
      'RAMPART_RELEASE_NOT_A_WORKSPACE',
      `${root} has no pnpm-workspace.yaml or package.json`,
    );
  }
  const globs = workspaceGlobs(readFileSync(workspaceFile, 'utf8'));
  const include = globs.filter((glob) => !glob.startsWith('!'));
  const exclude = globs.filter((glob) => glob.startsWith('!')).map((glob) => `${glob.slice(1)}/package.json`);
  const skipNodeModules = (path: string) => path.split(/[\\/]/).includes('node_modules');
  const excluded = new Set(globSync(exclude, { cwd: root, exclude: skipNodeModules }));
  const manifests = globSync(
    include.map((glob) => `${glob}/package.json`),
    { cwd: root, exclude: skipNodeModules },
  ).filter((file) => !excluded.has(file));

  const packages = [...new Set(manifests)].sort().map((file): WorkspacePackage => {
    const dir = resolve(root, file, '..');
    const manifest = JSON.parse(readFileSync(join(root, file), 'utf8')) as Manifest;
    return {
      name: manifest.name,
      version: manifest.version,
      dir,
      path: relative(root, dir).split('\\').join('/'),
      private: manifest.private === true,
      manifest,
    };
  });
  return { root, packages };
}

/** Packages a release publishes: every workspace package not marked `"private": true`. */
export function publishablePackages(workspace: Workspace): WorkspacePackage[] {
  return workspace.packages.filter((pkg) => !pkg.private);
}

/** Every file an `exports` map points at (all conditions, all subpaths), package-relative without `./`. */
export function exportTargets(manifest: Manifest): string[] {
  const targets = new Set<string>();
  const visit = (value: unknown): void => {
    if (typeof value === 'string') targets.add(value.replace(/^\.\//, ''));
    else if (Array.isArray(value)) for (const item of value) visit(item);
    else if (value && typeof value === 'object') for (const item of Object.values(value)) visit(item);
  };
  visit(manifest.exports);
  return [...targets].sort();
}

/** The subpaths of an `exports` map as import specifiers: `@scope/x`, `@scope/x/fastify`, ... */
export function exportSpecifiers(manifest: Manifest): string[] {
  const exportsField = manifest.exports;
  if (typeof exportsField === 'string' || Array.isArray(exportsField)) return [manifest.name];
  if (!exportsField || typeof exportsField !== 'object') return [];
  const keys = Object.keys(exportsField);
  // An exports object whose keys are conditions (no leading ".") describes the root entry only.
  if (!keys.some((key) => key.startsWith('.'))) return [manifest.name];
  return keys
    .filter((key) => !key.includes('*'))
    .map((key) => (key === '.' ? manifest.name : `${manifest.name}/${key.replace(/^\.\//, '')}`));
}

/** Export targets of a package that do not exist on disk (e.g. dist/ not built). */
export function missingExportTargets(pkg: WorkspacePackage): string[] {
  return exportTargets(pkg.manifest).filter((target) => !existsSync(join(pkg.dir, target)));
}

/** The `packages:` list of a pnpm-workspace.yaml: block-style `- glob` items, quotes removed. */
export function workspaceGlobs(yaml: string): string[] {
  const globs: string[] = [];
  let inPackages = false;
  for (const line of yaml.split(/\r?\n/)) {
    if (/^packages:\s*(#.*)?$/.test(line)) {
      inPackages = true;
      continue;
    }
    if (!inPackages || /^\s*(#.*)?$/.test(line)) continue;
    const item = /^\s+-\s+(.+?)\s*(#.*)?$/.exec(line);
    if (!item?.[1]) {
      inPackages = false;
      continue;
    }
    globs.push(item[1].replace(/^(['"])(.*)\1$/, '$2'));
  }
  return globs;
}
