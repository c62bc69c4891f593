import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

/**
 * The house rules a linter cannot see, checked over a whole workspace:
 * - every workspace package has a README, an `exports` map and tests;
 * - no deep imports: `<scope>/x/...` only through x's `exports`, and no relative import leaves a package;
 * - no import cycles, between packages (any kind of dependency) or between files of one package;
 * - no `process.env` in packages/ outside tests, benches, CLIs and testing entries;
 * - the pnpm pin in scripts/toolchain.sh equals package.json's `packageManager`.
 * Returns one line per violation, `where: what`.
 */
export function checkHouseRules(root: string): string[] {
  const problems: string[] = [];
  const fail = (where: string, message: string) => problems.push(`${where}: ${message}`);

  const rootManifest = readJson(join(root, 'package.json')) as {
    packageManager?: string;
    rampart?: { scope?: unknown };
  };
  const scope = rootManifest.rampart?.scope;
  if (typeof scope !== 'string') {
    fail('package.json', 'has no "rampart.scope" (the npm scope of the workspace)');
    return problems;
  }

  const packages = new Map<string, { dir: string; manifest: Manifest }>();
  for (const dir of workspaceDirs(root)) {
    const manifest = readJson(join(dir, 'package.json')) as Manifest;
    packages.set(manifest.name, { dir, manifest });
  }

  for (const [name, { dir, manifest }] of packages) {
    const where = relative(root, dir);
    if (!existsSync(join(dir, 'README.md'))) fail(where, 'has no README.md');
    if (!manifest.exports) fail(where, 'package.json has no "exports"');
    const files = walk(dir);
    if (!files.some((file) => /\.test\.[mc]?ts$/.test(file))) fail(where, 'has no *.test.ts');

    const ownExports = exportKeys(manifest);
    const localGraph = new Map<string, string[]>();
    for (const file of files) {
      const rel = relative(dir, file).split(sep).join('/');
      const source = readFileSync(file, 'utf8');
      const edges: string[] = [];
      for (const spec of importsOf(source)) {
        if (spec.startsWith(`${scope}/`)) {
          const [, pkg, ...rest] = spec.split('/');
          const target = packages.get(`${scope}/${pkg}`);
          const subpath = rest.join('/');
          if (target && target.manifest.name !== name) {
            if (!exportKeys(target.manifest).has(subpath)) {
              fail(
                `${where}/${rel}`,
                `deep import "${spec}": ${target.manifest.name} does not export "./${subpath}"`,
              );
            }
          } else if (target && !ownExports.has(subpath)) {
            fail(`${where}/${rel}`, `self import "${spec}" is not in this package's exports`);
          }
        } else if (spec.startsWith('.')) {
          const resolved = resolve(dirname(file), spec);
          if (!resolved.startsWith(dir + sep))
            fail(`${where}/${rel}`, `relative import "${spec}" leaves the package`);
          else edges.push(resolved.replace(/\.js$/, '.ts'));
        }
      }
      localGraph.set(file, edges);
      if (
        where.startsWith('packages/') &&
        !isTestish(rel) &&
        !isCli(rel) &&
        /process\.env\b/.test(withoutComments(source))
      ) {
        fail(
          `${where}/${rel}`,
          "reads process.env; packages take config as arguments (read it in the app's env.ts)",
        );
      }
    }
    for (const cycle of findCycles(localGraph)) {
      fail(where, `import cycle: ${cycle.map((file) => relative(dir, file)).join(' -> ')}`);
    }
  }

  const packageGraph = new Map<string, string[]>();
  for (const [name, { manifest }] of packages) {
    const deps = { ...manifest.dependencies, ...manifest.devDependencies, ...manifest.peerDependencies };
    packageGraph.set(
      name,
      Object.keys(deps).filter((dep) => packages.has(dep) && dep !== name),
    );
  }
  for (const cycle of findCycles(packageGraph))
    fail('workspace', `package dependency cycle: ${cycle.join(' -> ')}`);

  const toolchainFile = join(root, 'scripts/toolchain.sh');
  if (existsSync(toolchainFile)) {
    const pnpmPin = /RAMPART_PNPM_VERSION="([^"]+)"/.exec(readFileSync(toolchainFile, 'utf8'))?.[1];
    if (rootManifest.packageManager !== `pnpm@${pnpmPin}`) {
      fail(
        'package.json',
        `packageManager is ${rootManifest.packageManager} but scripts/toolchain.sh pins pnpm ${pnpmPin}`,
      );
    }
  }
  return problems;
}

interface Manifest {
  name: string;
  exports?: Record<string, unknown> | string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

const SKIP_DIRS = new Set(['node_modules', 'dist', '.turbo', 'coverage', '.data', 'templates']);
const IMPORT_RE =
  /(?:^|[\s;])(?:import|export)\s[^'"`]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s*['"]([^'"]+)['"]/gm;

/** Drops block and line comments (a comment may name process.env to say why it is not read). */
function withoutComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

function readJson(path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8'));
}

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (SKIP_DIRS.has(name) || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else if (/\.(ts|mts|js|mjs)$/.test(name) && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

function workspaceDirs(root: string): string[] {
  const dirs: string[] = [];
  for (const group of ['packages', 'apps', 'tooling']) {
    const base = join(root, group);
    if (!existsSync(base)) continue;
    for (const name of readdirSync(base).sort()) {
      if (existsSync(join(base, name, 'package.json'))) dirs.push(join(base, name));
    }
  }
  if (existsSync(join(root, 'generators', 'package.json'))) dirs.push(join(root, 'generators'));
  return dirs;
}

function exportKeys(manifest: Manifest): Set<string> {
  if (typeof manifest.exports === 'string') return new Set(['']);
  return new Set(Object.keys(manifest.exports ?? {}).map((key) => key.replace(/^\.\/?/, '')));
}

function importsOf(source: string): string[] {
  const found: string[] = [];
  for (const match of source.matchAll(IMPORT_RE)) {
    const spec = match[1] ?? match[2] ?? match[3];
    if (spec) found.push(spec);
  }
  return found;
}

const isTestish = (rel: string) =>
  /(^|\/)testing(\/|\.ts$)/.test(rel) ||
  /(^|\/)(test|tests|bench|__fixtures__)\//.test(rel) ||
  /\.(test|bench)\.[mc]?[jt]s$/.test(rel) ||
  /(^|\/)vitest\.[^/]*$/.test(rel);
const isCli = (rel: string) => /(^|\/)(cli|bin)(\/|\.[mc]?[jt]s$)/.test(rel);

function findCycles(graph: Map<string, string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 1 | 2>();
  const stack: string[] = [];
  const visit = (node: string) => {
    state.set(node, 1);
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (state.get(next) === 1) cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, 2);
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node);
  return cycles;
}
