import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkPackages, formatCheck, main } from './check-packages.ts';

// A throwaway workspace with one well-formed package and one with the mistakes publint and attw exist for.
const manifest = (name: string, exports: unknown) =>
  JSON.stringify({
    name,
    version: '1.0.0',
    type: 'module',
    license: 'MIT',
    sideEffects: false,
    engines: { node: '>=22.12.0' },
    repository: { type: 'git', url: 'git+https://example.invalid/fixture.git' },
    files: ['dist'],
    exports,
  });
const FILES: Record<string, string> = {
  'package.json': '{"name":"fixture-root","private":true}',
  'pnpm-workspace.yaml': 'packages:\n  - packages/*\n',
  'packages/good/package.json': manifest('@fixture/good', {
    '.': { types: './dist/index.d.ts', default: './dist/index.js' },
  }),
  'packages/good/dist/index.js': 'export const answer = 42;\n',
  'packages/good/dist/index.d.ts': 'export declare const answer: number;\n',
  // `default` before `types` (publint: types must come first, TypeScript never sees them) and a subpath
  // whose declaration file was never built (attw: the ESM import resolves to no types).
  'packages/bad/package.json': JSON.stringify({
    ...JSON.parse(
      manifest('@fixture/bad', {
        '.': { default: './dist/index.js', types: './dist/index.d.ts' },
        './extra': { types: './dist/extra.d.ts', default: './dist/extra.js' },
      }),
    ),
    // and no license: every published package states one.
    license: undefined,
  }),
  'packages/bad/dist/index.js': 'export const answer = 42;\n',
  'packages/bad/dist/index.d.ts': 'export declare const answer: number;\n',
  'packages/bad/dist/extra.js': 'export const extra = 1;\n',
  'packages/bad/src/index.ts': 'export const answer = 42;\n',
  'packages/bad/src/extra.ts': 'export const extra = 1;\n',
  // Left by a build before src/old.ts was deleted.
  'packages/bad/dist/old.js': 'export const old = 1;\n',
  'packages/private/package.json': '{"name":"@fixture/app","version":"0.0.0","private":true}',
};

let root = '';
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'rampart-check-packages-test-'));
  for (const [file, text] of Object.entries(FILES)) {
    mkdirSync(resolve(root, file, '..'), { recursive: true });
    writeFileSync(join(root, file), text);
  }
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('checkPackages', () => {
  it('passes a well-formed package and names each publint and attw finding of a broken one', async () => {
    const log: string[] = [];
    const checks = await checkPackages({ root, build: false, log: (text) => log.push(text) });

    expect(checks.map((check) => [check.name, check.ok])).toEqual([
      ['@fixture/bad', false],
      ['@fixture/good', true],
    ]);
    const bad = checks[0]!;
    expect(bad.findings).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          tool: 'manifest',
          code: 'MISSING_FIELD',
          text: 'package.json has no "license"',
        }),
        expect.objectContaining({
          tool: 'files',
          code: 'STALE_BUILD_OUTPUT',
          text: expect.stringMatching(/^dist\/old\.js: no source in src\//),
        }),
        expect.objectContaining({
          tool: 'publint',
          severity: 'error',
          code: 'EXPORTS_TYPES_SHOULD_BE_FIRST',
        }),
        expect.objectContaining({ tool: 'attw', severity: 'error', code: 'UntypedResolution' }),
      ]),
    );
    expect(checks[1]!.findings).toEqual([]);
    const report = log.join('');
    expect(report).toContain('FAIL @fixture/bad (packages/bad)');
    expect(report).toContain('ok   @fixture/good (packages/good)');
    expect(report).toContain('check-packages: 1 of 2 package(s) clean');
    expect(report).not.toContain('@fixture/app');
  }, 60_000);

  it('exits 1 naming the failing packages, without a stack', async () => {
    let stderr = '';
    const io = {
      out() {},
      err(text: string) {
        stderr += text;
      },
    };
    expect(await main(['--no-build', '--root', root], io)).toBe(1);
    expect(stderr).toBe(
      'RAMPART_RELEASE_PACKAGE_CHECK_FAILED: a package misses a required field, or publint or attw found problems in it: @fixture/bad\n',
    );
    expect(await main(['--bogus'], io)).toBe(1);
    expect(stderr).toContain('RAMPART_RELEASE_BAD_ARGUMENTS');
  }, 60_000);
});

describe('formatCheck', () => {
  it('puts one finding per indented line under the package', () => {
    expect(
      formatCheck({
        name: '@x/a',
        path: 'packages/a',
        ok: false,
        findings: [{ tool: 'attw', severity: 'error', code: 'FalseCJS', text: 'entry "."' }],
      }),
    ).toBe('FAIL @x/a (packages/a)\n       attw error FalseCJS: entry "."\n');
  });
});
