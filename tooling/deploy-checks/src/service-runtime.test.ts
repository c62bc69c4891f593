import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  entryFor,
  loadEnvValidator,
  nodeScript,
  readBuildEntries,
  readMetricsPaths,
  tracingProblem,
  tracingVariables,
} from './service-runtime.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
/** A service directory holding these files. */
function service(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'rampart-runtime-'));
  dirs.push(dir);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}
const template = (path: string) =>
  readFileSync(
    new URL(`../../../generators/templates/service/apps/{{name}}/${path}`, import.meta.url),
    'utf8',
  );
// The generated service's build: `tsc -p tsconfig.build.json && rampart-bundle ... src/server.ts src/worker.ts`.
const manifest = template('package.json.hbs')
  .replaceAll('{{name}}', 'shop')
  .replaceAll('{{description}}', 'x');
const SOURCES = {
  'package.json': manifest,
  'tsconfig.build.json': template('tsconfig.build.json'),
  'src/server.ts': '',
  'src/worker.ts': '',
  'src/app.ts': 'await app.register(observability, {\n    metrics,\n  });\n',
  'src/env.ts': '',
  'src/env.test.ts': '',
  'src/items/routes.ts': '',
};

describe('readBuildEntries', () => {
  it('reads the start files rampart-bundle writes and the modules tsc writes, from the build script', () => {
    expect(JSON.parse(manifest).scripts.build).toMatch(/rampart-bundle .*src\/server\.ts src\/worker\.ts/);
    const entries = readBuildEntries(service(SOURCES))!;
    expect(entries.bundled).toEqual(
      new Map([
        ['dist/server.js', 'src/server.ts'],
        ['dist/worker.js', 'src/worker.ts'],
      ]),
    );
    // tsconfig.build.json leaves the entries and the tests out: only the bundler writes dist/server.js.
    expect([...entries.compiled.keys()].sort()).toEqual([
      'dist/app.js',
      'dist/env.js',
      'dist/items/routes.js',
    ]);
    expect(entryFor(entries, 'server')).toBe('dist/server.js');
    expect(entryFor(entries, 'worker')).toBe('dist/worker.js');
  });

  it('follows --outdir and takes tsc’s output as start files when nothing is bundled', () => {
    const bundled = readBuildEntries(
      service({
        'package.json': JSON.stringify({
          scripts: { build: 'rampart-bundle --outdir out --preload x src/main.ts' },
        }),
      }),
    )!;
    expect(bundled.bundled).toEqual(new Map([['out/main.js', 'src/main.ts']]));
    const compiled = readBuildEntries(
      service({
        ...SOURCES,
        'package.json': JSON.stringify({ scripts: { build: 'tsc -p tsconfig.json' } }),
        'tsconfig.json': JSON.stringify({
          compilerOptions: { rootDir: 'src', outDir: 'dist' },
          include: ['src'],
        }),
      }),
    )!;
    expect(compiled.bundled.size).toBe(0);
    expect(entryFor(compiled, 'worker')).toBe('dist/worker.js');
    expect(readBuildEntries(service({ 'package.json': '{}' }))).toBeUndefined();
  });
});

describe('nodeScript', () => {
  it.each<[string[], string, ReturnType<typeof nodeScript>]>([
    [
      ['/usr/bin/tini', '--', 'node', '--max-semi-space-size=16', 'dist/server.js'],
      '/app',
      { script: 'dist/server.js' },
    ],
    [
      ['node', '--import', '@rampart/observability/register', '/app/dist/worker.js'],
      '/app',
      { script: 'dist/worker.js' },
    ],
    [['/bin/sh', '-c', 'exec node ./dist/server.js'], '/app', { script: 'dist/server.js' }],
    [['node', '-e', '1'], '/app', { none: 'runs inline code (node -e)' }],
    [['python', 'main.py'], '/app', { none: 'does not run node (python main.py)' }],
  ])('%j', (argv, workdir, expected) => {
    expect(nodeScript(argv, workdir)).toEqual(expected);
  });
});

describe('readMetricsPaths', () => {
  const worker = `if (request.url === '/health/live') return send(200);\nif (request.url === '/stats') {\n  return void metrics.registry.metrics().then(send);\n}\n`;

  it('reads the plugin’s default path for the server, the path the worker answers metrics on', () => {
    const dir = service({ ...SOURCES, 'src/worker.ts': worker });
    expect(readMetricsPaths(dir, readBuildEntries(dir)!)).toEqual(
      new Map([
        ['dist/server.js', '/metrics'],
        ['dist/worker.js', '/stats'],
      ]),
    );
  });

  it('reads a metricsPath the app sets, or false', () => {
    for (const [option, expected] of [
      ["metricsPath: '/internal/metrics'", '/internal/metrics'],
      ['metricsPath: false', false],
    ] as const) {
      const dir = service({
        ...SOURCES,
        'src/app.ts': `await app.register(observability, { metrics, ${option} });\n`,
      });
      expect(readMetricsPaths(dir, readBuildEntries(dir)!).get('dist/server.js')).toBe(expected);
    }
  });
});

describe('loadEnvValidator', () => {
  it('does not import an env.ts that imports service code, and reads its integers and HOST default instead', async () => {
    const generated = readFileSync(new URL('../test/fixtures/env.ts.txt', import.meta.url), 'utf8');
    const dir = service({ 'src/env.ts': `import { side } from './side-effect.ts';\n${generated}` });
    const validator = await loadEnvValidator(join(dir, 'src/env.ts'));
    expect(validator).toMatchObject({
      kind: 'static',
      reason: 'it imports ./side-effect.ts, which could run service code',
      hostDefault: '127.0.0.1',
    });
    expect(validator.kind === 'static' && [...validator.integers]).toEqual(
      expect.arrayContaining(['PORT', 'SHUTDOWN_GRACE_MS', 'RATE_LIMIT_WINDOW_MS']),
    );
  });

  it('falls back when env.ts cannot load here or exports no parseEnv', async () => {
    const generated = readFileSync(new URL('../test/fixtures/env.ts.txt', import.meta.url), 'utf8');
    // typebox does not resolve from a temporary directory.
    const missing = await loadEnvValidator(join(service({ 'src/env.ts': generated }), 'src/env.ts'));
    expect(missing).toMatchObject({
      kind: 'static',
      reason: expect.stringMatching(/^it does not load here/),
    });
    const none = await loadEnvValidator(
      join(service({ 'src/env.ts': 'export const x = 1;\n' }), 'src/env.ts'),
    );
    expect(none).toMatchObject({ kind: 'static', reason: 'it exports no parseEnv function' });
  });
});

describe('tracingVariables', () => {
  it('finds every OTEL_* variable tracing-config reads, the OTLP exporter’s included', () => {
    const source = readFileSync(
      new URL('../../../packages/observability/src/tracing-config.ts', import.meta.url),
      'utf8',
    );
    const named = new Set([...source.matchAll(/'(OTEL_[A-Z_]+)'/g)].map((match) => match[1]!));
    const found = tracingVariables();
    for (const name of named) expect(found, name).toContain(name);
    // Built from a template string in tracing-config, so never a literal there.
    expect(found).toContain('OTEL_EXPORTER_OTLP_TRACES_PROTOCOL');
    expect(found).toContain('OTEL_EXPORTER_OTLP_HEADERS');
    expect(found).toContain('OTEL_SDK_DISABLED');
  });

  it('tracingProblem answers the register hook’s refusal', () => {
    expect(tracingProblem({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toBeUndefined();
    expect(tracingProblem({ OTEL_TRACES_SAMPLER: 'ratio' })).toMatch(
      /OTEL_TRACES_SAMPLER="ratio": expected one of/,
    );
  });
});
