import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { BundleError, bundleService, startCommand } from './bundle.ts';

const cli = fileURLToPath(new URL('./cli.ts', import.meta.url));
const dirs: string[] = [];

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function write(root: string, files: Record<string, string>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
}

/**
 * A service in a temporary directory that uses a package the way @rampart/db and @rampart/observability
 * do: a folder next to its code found through `new URL('../data', import.meta.url)`, and a dependency of
 * its own (not resolvable from the service) loaded through `createRequire(import.meta.url)`.
 */
function service(extra: Record<string, string> = {}): string {
  const root = mkdtempSync(join(tmpdir(), 'rampart-bundle-test-'));
  dirs.push(root);
  write(root, {
    'package.json': JSON.stringify({ name: 'svc', type: 'module', dependencies: { 'pkg-a': '*' } }),
    'src/main.ts': [
      "import { readdirSync, readFileSync } from 'node:fs';",
      "import { dataDir, loadDep } from 'pkg-a';",
      "import { ownFile } from './own.ts';",
      'const report: { data: string[]; dep: number; own: string } = {',
      '  data: readdirSync(dataDir),',
      '  dep: loadDep(),',
      "  own: readFileSync(ownFile, 'utf8').trim(),",
      '};',
      'console.log(JSON.stringify(report));',
    ].join('\n'),
    'src/own.ts': [
      "import { fileURLToPath } from 'node:url';",
      "export const ownFile = fileURLToPath(new URL('../config/own.txt', import.meta.url));",
    ].join('\n'),
    'config/own.txt': 'the service\n',
    'node_modules/pkg-a/package.json': JSON.stringify({
      name: 'pkg-a',
      type: 'module',
      exports: './dist/index.js',
    }),
    'node_modules/pkg-a/dist/index.js': [
      "import { createRequire } from 'node:module';",
      "import { fileURLToPath } from 'node:url';",
      'const require = createRequire(import.meta.url);',
      "export const dataDir = fileURLToPath(new URL('../data', import.meta.url));",
      "export const loadDep = () => require('dep-b').value;",
    ].join('\n'),
    'node_modules/pkg-a/data/0001_first.sql': 'create table first ();\n',
    'node_modules/pkg-a/data/0002_second.sql': 'create table second ();\n',
    'node_modules/pkg-a/node_modules/dep-b/package.json': JSON.stringify({
      name: 'dep-b',
      main: 'index.cjs',
    }),
    'node_modules/pkg-a/node_modules/dep-b/index.cjs': 'module.exports = { value: 42 };\n',
    ...extra,
  });
  return root;
}

function run(file: string) {
  const result = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 30_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

async function refusal(promise: Promise<unknown>): Promise<BundleError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(BundleError);
  return error as BundleError;
}

describe('bundleService', () => {
  it('bundles an entry that runs like its sources, with package folders copied beside it', async () => {
    const root = service();
    const result = await bundleService({ root, entries: ['src/main.ts'] });
    // main, own and pkg-a, and dep-b: what pkg-a loads through createRequire is bundled too.
    expect(result.modules).toBe(4);
    expect(result.assets).toEqual([{ from: 'node_modules/pkg-a/data', to: 'dist/bundle/assets/pkg-a/data' }]);
    expect(readFileSync(join(root, 'dist/main.js'), 'utf8')).toContain(
      "await import('./bundle/main/main.js');",
    );

    // The copy is what the bundle reads: the package's own folder can go.
    rmSync(join(root, 'node_modules/pkg-a/data'), { recursive: true });
    const ran = run(join(root, 'dist/main.js'));
    expect(ran.stderr).toBe('');
    expect(JSON.parse(ran.stdout)).toEqual({
      data: ['0001_first.sql', '0002_second.sql'],
      dep: 42,
      own: 'the service',
    });
  });

  it('anchors createRequire at its package when the package also uses require.resolve', async () => {
    const root = service({
      'src/main.ts': "import { resolved } from 'pkg-e';\nconsole.log(JSON.stringify(resolved()));\n",
      'node_modules/pkg-e/package.json': JSON.stringify({
        name: 'pkg-e',
        type: 'module',
        exports: './index.js',
      }),
      'node_modules/pkg-e/index.js': [
        "import { createRequire } from 'node:module';",
        'const require = createRequire(import.meta.url);',
        "export const resolved = () => require.resolve('dep-b');",
      ].join('\n'),
      'node_modules/pkg-e/node_modules/dep-b/package.json': JSON.stringify({
        name: 'dep-b',
        main: 'index.cjs',
      }),
      'node_modules/pkg-e/node_modules/dep-b/index.cjs': 'module.exports = {};\n',
    });
    const result = await bundleService({ root, entries: ['src/main.ts'] });
    expect(result.modules).toBe(2);
    const ran = run(join(root, 'dist/main.js'));
    expect(ran.stderr).toBe('');
    expect(JSON.parse(ran.stdout)).toBe(join(root, 'node_modules/pkg-e/node_modules/dep-b/index.cjs'));
  });

  it("imports Node's builtins without their ES facades: node:http no longer loads Node's undici", async () => {
    const main = [
      "import { createServer } from 'node:http';",
      "import http, * as httpNamespace from 'http';",
      "import { readFileSync } from 'node:fs';",
      "const { join } = await import('node:path');",
      'console.log(JSON.stringify({',
      "  undici: process.moduleLoadList.some((name) => name.includes('undici')),",
      '  same: createServer === http.createServer && httpNamespace.createServer === createServer,',
      "  fs: typeof readFileSync, join: join('a', 'b'),",
      '}));',
    ].join('\n');
    const root = service({ 'src/main.ts': main });
    // The sources as Node runs them: the ES import of node:http builds its facade, which loads undici.
    const source = run(join(root, 'src/main.ts'));
    expect(source.stderr).toBe('');
    expect(JSON.parse(source.stdout)).toMatchObject({ undici: true, same: true });
    await bundleService({ root, entries: ['src/main.ts'] });
    const ran = run(join(root, 'dist/main.js'));
    expect(ran.stderr).toBe('');
    expect(JSON.parse(ran.stdout)).toEqual({ undici: false, same: true, fs: 'function', join: 'a/b' });
  });

  it('gives import() of a CommonJS package its named exports, as Node does (esbuild gives default only)', async () => {
    const main = [
      "const cjs = await import('dep-cjs');",
      "const esm = await import('pkg-esm');",
      'console.log(JSON.stringify({',
      '  value: cjs.value, sum: cjs.add(1, 2), same: cjs.default.add === cjs.add,',
      // Node 23+ also names the whole object "module.exports"; Node 22 does not, nor does the bundle.
      "  keys: Object.keys(cjs).filter((key) => key !== 'module.exports').sort(),",
      '  esm: esm.twice(21), esmKeys: Object.keys(esm).sort(),',
      '}));',
    ].join('\n');
    const root = service({
      'src/main.ts': main,
      'node_modules/dep-cjs/package.json': JSON.stringify({ name: 'dep-cjs', main: 'index.js' }),
      'node_modules/dep-cjs/index.js': 'exports.value = 42;\nexports.add = (a, b) => a + b;\n',
      'node_modules/pkg-esm/package.json': JSON.stringify({
        name: 'pkg-esm',
        type: 'module',
        exports: './index.js',
      }),
      'node_modules/pkg-esm/index.js': 'export const twice = (n) => n * 2;\n',
    });
    const expected = {
      value: 42,
      sum: 3,
      same: true,
      keys: ['add', 'default', 'value'],
      esm: 42,
      esmKeys: ['twice'],
    };
    const source = run(join(root, 'src/main.ts'));
    expect(source.stderr).toBe('');
    expect(JSON.parse(source.stdout)).toEqual(expected);
    await bundleService({ root, entries: ['src/main.ts'], compileCache: false });
    const ran = run(join(root, 'dist/main.js'));
    expect(ran.stderr).toBe('');
    expect(JSON.parse(ran.stdout)).toEqual(expected);
  });

  it('fails where a builtin this Node lacks is imported, as an ES import would, not later where it is used', async () => {
    const root = service({
      'src/main.ts': [
        "import { DatabaseSync } from 'node:sqlite';",
        "console.log('started');",
        "console.log(typeof new DatabaseSync(':memory:'));",
      ].join('\n'),
    });
    await bundleService({ root, entries: ['src/main.ts'], compileCache: false });
    // Node without node:sqlite (22.12 has none): the only way to have one here is to hide it.
    const hide =
      "data:text/javascript,const get = process.getBuiltinModule; process.getBuiltinModule = (id) => (id === 'node:sqlite' ? undefined : get(id));";
    const ran = spawnSync(process.execPath, ['--import', hide, join(root, 'dist/main.js')], {
      encoding: 'utf8',
    });
    expect(ran.status).toBe(1);
    expect(ran.stdout).toBe('');
    expect(ran.stderr).toContain(`No such built-in module: node:sqlite in Node ${process.versions.node}`);
    expect(run(join(root, 'dist/main.js')).stdout).toBe('started\nobject\n');
  });

  it('compiles the bundle into a compile cache at build time, without running it, that a start reads', async () => {
    const root = service();
    const result = await bundleService({ root, entries: ['src/main.ts'] });
    // The entry prints a line when it runs: the prime printed only its own.
    expect(result.compileCache).toMatch(/^compiled 1 files into compile-cache\/v[^/\s]+ \(\d+ entries\)$/);
    const debug = (dir: string) =>
      spawnSync(process.execPath, [join(dir, 'dist/main.js')], {
        encoding: 'utf8',
        env: { ...process.env, NODE_DEBUG_NATIVE: 'COMPILE_CACHE' },
      });
    const accepted = /V8 code cache for ESM \S+\/dist\/bundle\/main\/main\.js was accepted/;
    const first = debug(root);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stderr).toMatch(accepted);
    // Portable: the service's folder moved (as dist/ does into an image) keeps its cache.
    const moved = `${root}-moved`;
    dirs.push(moved);
    renameSync(root, moved);
    const again = debug(moved);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toMatch(accepted);
    expect(JSON.parse(again.stdout)).toMatchObject({ dep: 42, own: 'the service' });

    // The prime script itself: NODE_DISABLE_COMPILE_CACHE turns it off with a line, not a failure.
    const prime = spawnSync(process.execPath, [join(moved, 'dist/bundle/prime-compile-cache.js')], {
      encoding: 'utf8',
      env: { ...process.env, NODE_DISABLE_COMPILE_CACHE: '1' },
    });
    expect(prime.status, prime.stderr).toBe(0);
    expect(prime.stdout).toBe('no compile cache: NODE_DISABLE_COMPILE_CACHE is set\n');

    // Not asked for: no cache is made at build time, and the start files still run.
    const bare = service();
    const plain = await bundleService({ root: bare, entries: ['src/main.ts'], compileCache: false });
    expect(plain.compileCache).toBeUndefined();
    expect(existsSync(join(bare, 'dist/bundle/compile-cache'))).toBe(false);
    expect(run(join(bare, 'dist/main.js')).stderr).toBe('');
  });

  it('rewrites the whole bundle directory on a rebuild, leaving no stale chunk', async () => {
    const root = service();
    await bundleService({ root, entries: ['src/main.ts'] });
    write(root, { 'dist/bundle/chunk-STALE.js': 'throw new Error("stale")' });
    await bundleService({ root, entries: ['src/main.ts'] });
    expect(existsSync(join(root, 'dist/bundle/chunk-STALE.js'))).toBe(false);
    expect(readdirSync(join(root, 'dist/bundle')).sort()).toEqual([
      'assets',
      'compile-cache',
      'main',
      'prime-compile-cache.js',
    ]);
    expect(readdirSync(join(root, 'dist/bundle/main')).sort()).toEqual(['main.js', 'main.js.map']);
  });

  it('runs a preload to completion (top-level await included) before the entry, sharing one module graph', async () => {
    const root = service({
      'src/main.ts': "import { state } from './state.ts';\nconsole.log(JSON.stringify(state));\n",
      'src/state.ts':
        'export const state: { ready?: boolean; loads: number } = { loads: 0 };\nstate.loads += 1;\n',
      'src/preload.ts': [
        "import { state } from './state.ts';",
        'await new Promise((resolve) => setTimeout(resolve, 20));',
        'state.ready = true;',
      ].join('\n'),
    });
    await bundleService({ root, entries: ['src/main.ts'], preload: ['./src/preload.ts'] });
    const ran = run(join(root, 'dist/main.js'));
    expect(ran.stderr).toBe('');
    // One copy of state.ts between the two: the preload's change is what the entry sees.
    expect(JSON.parse(ran.stdout)).toEqual({ loads: 1, ready: true });
  });

  it("refuses import.meta.dirname in the service's own code, saying what to write instead", async () => {
    const root = service({
      'src/main.ts':
        "import { join } from 'node:path';\nconsole.log(join(import.meta.dirname, '../config'));\n",
    });
    const error = await refusal(bundleService({ root, entries: ['src/main.ts'] }));
    expect(error.code).toBe('RAMPART_BUNDLE_IMPORT_META');
    expect(error.message).toContain("write new URL('<path relative to this file>', import.meta.url)");
    expect(existsSync(join(root, 'dist'))).toBe(false);
  });

  it('refuses a package whose __dirname would name the bundle instead, unless it is known to be harmless', async () => {
    const root = service({
      'src/main.ts': "import { here } from 'pkg-d';\nconsole.log(here);\n",
      'node_modules/pkg-d/package.json': JSON.stringify({ name: 'pkg-d', main: 'index.cjs' }),
      'node_modules/pkg-d/index.cjs': "exports.here = require('node:path').join(__dirname, 'data.bin');\n",
    });
    const error = await refusal(bundleService({ root, entries: ['src/main.ts'] }));
    expect(error.code).toBe('RAMPART_BUNDLE_IMPORT_META');
    expect(error.message).toContain('--external pkg-d');
    expect(existsSync(join(root, 'dist'))).toBe(false);
  });

  it('keeps a trailing slash, leaves absolute URLs alone, and keeps the service own require relative', async () => {
    const root = service({
      'src/main.ts': [
        "import { readFileSync } from 'node:fs';",
        "import { createRequire } from 'node:module';",
        'const require = createRequire(import.meta.url);',
        "const dir = new URL('../config/', import.meta.url);",
        'console.log(JSON.stringify({',
        "  own: readFileSync(new URL('own.txt', dir), 'utf8').trim(),",
        "  remote: new URL('https://example.com/a', import.meta.url).href,",
        "  data: require('./data.json').x,",
        '}));',
      ].join('\n'),
      'src/data.json': '{ "x": 7 }',
    });
    await bundleService({ root, entries: ['src/main.ts'] });
    const ran = run(join(root, 'dist/main.js'));
    expect(ran.stderr).toBe('');
    expect(JSON.parse(ran.stdout)).toEqual({ own: 'the service', remote: 'https://example.com/a', data: 7 });
  });

  it('runs each entry in its own module order: a module two entries share is not evaluated early', async () => {
    const root = service({
      'src/main.ts': "import './setup.ts';\nimport { mode } from './shared.ts';\nconsole.log(mode);\n",
      'src/setup.ts': "(globalThis as { MODE?: string }).MODE = 'from-setup';\n",
      'src/shared.ts': "export const mode = (globalThis as { MODE?: string }).MODE ?? 'unset';\n",
      'src/worker.ts': "import { mode } from './shared.ts';\nconsole.log(mode);\n",
    });
    await bundleService({ root, entries: ['src/main.ts', 'src/worker.ts'] });
    expect(run(join(root, 'dist/main.js')).stdout.trim()).toBe('from-setup');
    expect(run(join(root, 'dist/worker.js')).stdout.trim()).toBe('unset');
  });

  it('anchors a package require it cannot follow (a computed name) at the package file itself', async () => {
    const root = service({
      'src/main.ts': "import { load } from 'pkg-f';\nconsole.log(load('dep-b'));\n",
      'node_modules/pkg-f/package.json': JSON.stringify({
        name: 'pkg-f',
        type: 'module',
        exports: './lib/index.js',
      }),
      'node_modules/pkg-f/lib/index.js': "export { load } from './inner/load.js';\n",
      'node_modules/pkg-f/lib/inner/load.js': [
        "import { createRequire } from 'node:module';",
        'const require = createRequire(import.meta.url);',
        "export const load = (name) => [require(name).value, require('./near.cjs').near].join(' ');",
      ].join('\n'),
      'node_modules/pkg-f/lib/inner/near.cjs': "exports.near = 'near';\n",
      'node_modules/pkg-f/node_modules/dep-b/package.json': JSON.stringify({
        name: 'dep-b',
        main: 'index.cjs',
      }),
      'node_modules/pkg-f/node_modules/dep-b/index.cjs': 'module.exports = { value: 43 };\n',
    });
    await bundleService({ root, entries: ['src/main.ts'] });
    const ran = run(join(root, 'dist/main.js'));
    expect(ran.stderr).toBe('');
    expect(ran.stdout.trim()).toBe('43 near');
  });

  it('refuses folders it cannot copy faithfully: two copies of a package, or code next to it', async () => {
    const two = service({
      'src/main.ts':
        "import { dataDir } from 'pkg-a';\nimport { other } from 'pkg-x';\nconsole.log(dataDir, other);\n",
      'node_modules/pkg-x/package.json': JSON.stringify({
        name: 'pkg-x',
        type: 'module',
        exports: './index.js',
      }),
      'node_modules/pkg-x/index.js': "export { dataDir as other } from 'pkg-a';\n",
      'node_modules/pkg-x/node_modules/pkg-a/package.json': JSON.stringify({
        name: 'pkg-a',
        type: 'module',
        exports: './dist/index.js',
      }),
      'node_modules/pkg-x/node_modules/pkg-a/dist/index.js':
        "export const dataDir = new URL('../data', import.meta.url).pathname;\n",
      'node_modules/pkg-x/node_modules/pkg-a/data/0001_first.sql': 'create table other ();\n',
    });
    const twice = await refusal(bundleService({ root: two, entries: ['src/main.ts'] }));
    expect(twice.message).toContain('two copies of pkg-a');
    const code = service({
      'src/main.ts': "import { worker } from 'pkg-w';\nconsole.log(worker);\n",
      'node_modules/pkg-w/package.json': JSON.stringify({
        name: 'pkg-w',
        type: 'module',
        exports: './index.js',
      }),
      'node_modules/pkg-w/index.js': "export const worker = new URL('./worker.js', import.meta.url).href;\n",
      'node_modules/pkg-w/worker.js': "import 'node:fs';\n",
    });
    const loadsCode = await refusal(bundleService({ root: code, entries: ['src/main.ts'] }));
    expect(loadsCode.message).toContain('loads code from');
    expect(loadsCode.message).toContain('--external pkg-w');
    for (const root of [two, code]) expect(existsSync(join(root, 'dist'))).toBe(false);
  });

  it('sees import.meta and __dirname however they are written, in the service and in packages', async () => {
    const cases: Record<string, string>[] = [
      { 'src/main.ts': 'const meta = import.meta;\nconsole.log(meta.dirname);\n' },
      { 'src/main.ts': 'console.log(import.meta?.dirname);\n' },
      { 'src/main.ts': "console.log(__dirname + '/x');\n" },
      {
        'src/main.ts': "import { d } from 'pkg-g';\nconsole.log(d);\n",
        'node_modules/pkg-g/package.json': JSON.stringify({
          name: 'pkg-g',
          type: 'module',
          exports: './index.js',
        }),
        'node_modules/pkg-g/index.js': 'const u = "http://x"; export const d = import.meta.dirname + u;\n',
      },
    ];
    for (const files of cases) {
      const root = service(files);
      const error = await refusal(bundleService({ root, entries: ['src/main.ts'] }));
      expect(error.code, files['src/main.ts']).toBe('RAMPART_BUNDLE_IMPORT_META');
    }
  });

  it('refuses a subpath of an external package the service cannot resolve', async () => {
    const root = service({ 'src/main.ts': "import 'ext-pkg/sub';\n" });
    const error = await refusal(bundleService({ root, entries: ['src/main.ts'], external: ['ext-pkg'] }));
    expect(error.code).toBe('RAMPART_BUNDLE_EXTERNAL');
    expect(error.message).toContain('add ext-pkg to');
  });

  it('a write that fails leaves the previous bundle whole and says why', async () => {
    const root = service();
    await bundleService({ root, entries: ['src/main.ts'] });
    rmSync(join(root, 'dist/main.js'));
    mkdirSync(join(root, 'dist/main.js/blocked'), { recursive: true });
    const error = await refusal(bundleService({ root, entries: ['src/main.ts'] }));
    expect(error.code).toBe('RAMPART_BUNDLE_WRITE');
    expect(readdirSync(join(root, 'dist/bundle/main')).sort()).toEqual(['main.js', 'main.js.map']);
    expect(readdirSync(join(root, 'dist')).sort()).toEqual(['bundle', 'main.js']);
  });

  it('refuses an external package the service cannot resolve at run time, and writes nothing', async () => {
    const root = service({ 'src/main.ts': "import 'not-installed-pkg';\n" });
    const error = await refusal(
      bundleService({ root, entries: ['src/main.ts'], external: ['not-installed-pkg'] }),
    );
    expect(error.code).toBe('RAMPART_BUNDLE_EXTERNAL');
    expect(error.message).toContain("add not-installed-pkg to the service's dependencies");
    expect(existsSync(join(root, 'dist'))).toBe(false);
  });

  it('refuses a package that uses import.meta in a way the bundle would change, naming it', async () => {
    const root = service({
      'src/main.ts': "import { where } from 'pkg-c';\nconsole.log(where);\n",
      'node_modules/pkg-c/package.json': JSON.stringify({
        name: 'pkg-c',
        type: 'module',
        exports: './index.js',
      }),
      'node_modules/pkg-c/index.js':
        '// import.meta.url in a comment is fine\nexport const where = import.meta.dirname;\n',
    });
    const error = await refusal(bundleService({ root, entries: ['src/main.ts'] }));
    expect(error.code).toBe('RAMPART_BUNDLE_IMPORT_META');
    expect(error.message).toContain('import.meta.dirname');
    expect(error.message).toContain('--external pkg-c');
    expect(existsSync(join(root, 'dist'))).toBe(false);
  });

  it('keeps the previous bundle when a rebuild is refused', async () => {
    const root = service();
    await bundleService({ root, entries: ['src/main.ts'] });
    write(root, { 'src/main.ts': "import 'does-not-exist';\n" });
    const error = await refusal(bundleService({ root, entries: ['src/main.ts'] }));
    expect(error.code).toBe('RAMPART_BUNDLE_BUILD');
    expect(error.message).toContain('does-not-exist');
    expect(run(join(root, 'dist/main.js')).code).toBe(0);
  });

  it('refuses an entry named like the folders the bundle keeps for itself', async () => {
    for (const name of ['assets', 'compile-cache']) {
      const root = service({ [`src/${name}.ts`]: "console.log('ran');\n" });
      const error = await refusal(bundleService({ root, entries: [`src/${name}.ts`] }));
      expect(error.code).toBe('RAMPART_BUNDLE_INPUT');
      expect(error.message).toContain(`bundle/${name}/`);
      expect(existsSync(join(root, 'dist'))).toBe(false);
    }
  });

  it('refuses a missing entry or a directory without package.json', async () => {
    const root = service();
    expect((await refusal(bundleService({ root, entries: ['src/nope.ts'] }))).message).toContain(
      'entry src/nope.ts does not exist',
    );
    expect((await refusal(bundleService({ root: tmpdir(), entries: ['x.ts'] }))).code).toBe(
      'RAMPART_BUNDLE_INPUT',
    );
  });
});

describe('rampart-bundle', () => {
  it('prints what it wrote', () => {
    const root = service();
    const result = spawnSync(process.execPath, [cli, '--root', root, 'src/main.ts'], { encoding: 'utf8' });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(
      /^rampart-bundle: 4 modules -> dist\/bundle\/main\/main\.js \(0\.0 MiB\); copied dist\/bundle\/assets\/pkg-a\/data in .+\nrampart-bundle: compiled 1 files into compile-cache\/v[^/\s]+ \(\d+ entries\)\n$/,
    );
  });

  it('exits 1 with a message and the usage on bad input', () => {
    const root = service();
    for (const args of [[], ['--root', root, 'src/nope.ts'], ['--bogus']]) {
      const result = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', cwd: root });
      expect(result.status, args.join(' ')).toBe(1);
      expect(result.stderr).toMatch(/^rampart-bundle: .+\nusage: rampart-bundle /);
      expect(result.stderr).not.toContain('    at ');
    }
    expect(existsSync(join(root, 'dist'))).toBe(false);
  });
});

describe('startCommand', () => {
  it('reads Node flags and the entry from a start script, and refuses anything a shell would be needed for', () => {
    const root = service();
    const scripts = {
      start: 'node --max-semi-space-size=16 dist/server.js',
      'start:worker': 'node dist/worker.js',
      shell: 'NODE_ENV=production node dist/server.js',
      chained: 'node dist/a.js && node dist/b.js',
      separated: 'node --require dist/server.js',
      flagOnly: 'node --import=./x.js',
    };
    write(root, { 'package.json': JSON.stringify({ name: 'svc', scripts }) });
    expect(startCommand(root)).toEqual({ flags: ['--max-semi-space-size=16'], entry: 'dist/server.js' });
    expect(startCommand(root, 'start:worker')).toEqual({ flags: [], entry: 'dist/worker.js' });
    for (const script of ['shell', 'chained', 'separated', 'flagOnly', 'missing']) {
      expect(() => startCommand(root, script), script).toThrow(/expected "node \[--flag\.\.\.\] <file>\.js"/);
    }
  });
});
