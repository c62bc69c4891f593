#!/usr/bin/env node
// The house rules from STYLE.md that a linter cannot see, checked over the whole workspace:
//   - every workspace package has a README, an `exports` map and tests;
//   - no deep imports: `<scope>/x/...` only through x's `exports`, and no relative import leaves a package;
//   - no import cycles, between packages (dependencies) or between files of one package;
//   - no `process.env` in packages/ outside tests, benches and CLIs (packages take config as arguments);
//   - the toolchain pins in scripts/toolchain.sh agree with package.json.
// Prints one line per violation and exits 1 if there is any.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const problems = [];
const fail = (where, message) => problems.push(`${where}: ${message}`);

const SKIP_DIRS = new Set(['node_modules', 'dist', '.turbo', 'coverage', '.data', 'templates']);
function walk(dir, out = []) {
  for (const name of readdirSync(dir)) {
    if (SKIP_DIRS.has(name) || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else if (/\.(ts|mts|js|mjs)$/.test(name) && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

function workspaceDirs() {
  const dirs = [];
  for (const group of ['packages', 'apps', 'tooling']) {
    const base = join(root, group);
    if (!existsSync(base)) continue;
    for (const name of readdirSync(base)) {
      if (existsSync(join(base, name, 'package.json'))) dirs.push(join(base, name));
    }
  }
  if (existsSync(join(root, 'generators', 'package.json'))) dirs.push(join(root, 'generators'));
  return dirs;
}

const rootManifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const scope = rootManifest.rampart?.scope;
if (typeof scope !== 'string') fail('package.json', 'has no "rampart.scope" (the npm scope of the workspace)');
const packages = new Map(); // name -> { dir, manifest }
for (const dir of workspaceDirs()) {
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  packages.set(manifest.name, { dir, manifest });
}

const IMPORT_RE =
  /(?:^|[\s;])(?:import|export)\s[^'"`]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s*['"]([^'"]+)['"]/gm;
function importsOf(source) {
  const found = [];
  for (const match of source.matchAll(IMPORT_RE)) found.push(match[1] ?? match[2] ?? match[3]);
  return found;
}

const isTestish = (rel) =>
  /(^|\/)testing(\/|\.ts$)/.test(rel) ||
  /(^|\/)(test|tests|bench|__fixtures__)\//.test(rel) ||
  /\.(test|bench)\.[mc]?[jt]s$/.test(rel) ||
  /(^|\/)vitest\.[^/]*$/.test(rel);
const isCli = (rel) => /(^|\/)(cli|bin)(\/|\.[mc]?[jt]s$)/.test(rel);

for (const [name, { dir, manifest }] of packages) {
  const where = relative(root, dir);
  if (!existsSync(join(dir, 'README.md'))) fail(where, 'has no README.md');
  if (!manifest.exports) fail(where, 'package.json has no "exports"');
  const files = walk(dir);
  if (!files.some((file) => /\.test\.[mc]?ts$/.test(file))) fail(where, 'has no *.test.ts');

  const exported = new Set(Object.keys(manifest.exports ?? {}).map((key) => key.replace(/^\.\/?/, '')));
  const localGraph = new Map();
  for (const file of files) {
    const rel = relative(dir, file).split(sep).join('/');
    const source = readFileSync(file, 'utf8');
    const edges = [];
    for (const spec of importsOf(source)) {
      if (spec.startsWith(`${scope}/`)) {
        const [, pkg, ...rest] = spec.split('/');
        const target = packages.get(`${scope}/${pkg}`);
        const subpath = rest.join('/');
        if (target && target.manifest.name !== name) {
          const targetExports = new Set(
            Object.keys(target.manifest.exports ?? {}).map((key) => key.replace(/^\.\/?/, '')),
          );
          if (!targetExports.has(subpath)) {
            fail(
              `${where}/${rel}`,
              `deep import "${spec}": ${target.manifest.name} does not export "./${subpath}"`,
            );
          }
        } else if (target && subpath && !exported.has(subpath)) {
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
    if (where.startsWith('packages/') && !isTestish(rel) && !isCli(rel) && /process\.env\b/.test(source)) {
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

// Package-level cycles, over every kind of dependency (turbo and changesets both need a DAG).
const packageGraph = new Map();
for (const [name, { manifest }] of packages) {
  const deps = { ...manifest.dependencies, ...manifest.devDependencies, ...manifest.peerDependencies };
  packageGraph.set(
    name,
    Object.keys(deps).filter((dep) => packages.has(dep) && dep !== name),
  );
}
for (const cycle of findCycles(packageGraph))
  fail('workspace', `package dependency cycle: ${cycle.join(' -> ')}`);

// Toolchain pins.
const toolchain = readFileSync(join(root, 'scripts/toolchain.sh'), 'utf8');
const pnpmPin = /RAMPART_PNPM_VERSION="([^"]+)"/.exec(toolchain)?.[1];
if (rootManifest.packageManager !== `pnpm@${pnpmPin}`) {
  fail(
    'package.json',
    `packageManager is ${rootManifest.packageManager} but scripts/toolchain.sh pins pnpm ${pnpmPin}`,
  );
}

function findCycles(graph) {
  const cycles = [];
  const state = new Map(); // 1 visiting, 2 done
  const stack = [];
  const visit = (node) => {
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

if (problems.length > 0) {
  for (const problem of problems) console.error(`house-rules: ${problem}`);
  console.error(`house-rules: ${problems.length} problem(s)`);
  process.exit(1);
}
console.error(`house-rules: ${packages.size} workspace package(s) checked, no problems`);
