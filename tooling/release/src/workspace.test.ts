import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  exportSpecifiers,
  exportTargets,
  missingExportTargets,
  publishablePackages,
  readWorkspace,
  workspaceGlobs,
} from './workspace.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function fixture(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'rampart-release-ws-'));
  dirs.push(dir);
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(resolve(dir, file, '..'), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  return dir;
}

describe('workspaceGlobs', () => {
  it('reads the block list under packages:, with quotes, comments and negations', () => {
    const yaml = [
      'packages:',
      '  - packages/*',
      "  - 'apps/*' # the services",
      '',
      '  - "!packages/legacy"',
      '  - generators',
      'catalog:',
      '  - not-a-package',
    ].join('\n');
    expect(workspaceGlobs(yaml)).toEqual(['packages/*', 'apps/*', '!packages/legacy', 'generators']);
  });
});

describe('readWorkspace', () => {
  it('finds this workspace: only packages/* are publishable; apps, generators and tooling are private', () => {
    const workspace = readWorkspace(ROOT);
    const paths = workspace.packages.map((pkg) => pkg.path);
    expect(paths).toEqual(
      expect.arrayContaining(['apps/api', 'generators', 'packages/db', 'tooling/release']),
    );
    const publishable = publishablePackages(workspace);
    expect(publishable.length).toBeGreaterThan(0);
    for (const pkg of publishable) expect(pkg.path).toMatch(/^packages\/[^/]+$/);
    for (const pkg of workspace.packages.filter((candidate) => !candidate.path.startsWith('packages/'))) {
      expect({ path: pkg.path, private: pkg.private }).toEqual({ path: pkg.path, private: true });
    }
  });

  it('honours negated globs and skips node_modules', () => {
    const root = fixture({
      'package.json': '{"name":"root","private":true}',
      'pnpm-workspace.yaml': 'packages:\n  - packages/*\n  - "!packages/old"\n',
      'packages/a/package.json': '{"name":"@x/a","version":"1.0.0"}',
      'packages/old/package.json': '{"name":"@x/old","version":"1.0.0"}',
      'packages/node_modules/package.json': '{"name":"nm","version":"1.0.0"}',
    });
    expect(readWorkspace(root).packages.map((pkg) => pkg.name)).toEqual(['@x/a']);
  });

  it('refuses a directory that is not a pnpm workspace', () => {
    const root = fixture({ 'package.json': '{"name":"lonely"}' });
    expect(() => readWorkspace(root)).toThrow(
      expect.objectContaining({ code: 'RAMPART_RELEASE_NOT_A_WORKSPACE' }),
    );
  });
});

describe('exports', () => {
  const manifest = {
    name: '@x/a',
    version: '1.0.0',
    exports: {
      '.': { types: './dist/index.d.ts', default: './dist/index.js' },
      './fastify': { types: './dist/fastify.d.ts', default: './dist/fastify.js' },
      './package.json': './package.json',
    },
  };

  it('lists every target file and every import specifier', () => {
    expect(exportTargets(manifest)).toEqual([
      'dist/fastify.d.ts',
      'dist/fastify.js',
      'dist/index.d.ts',
      'dist/index.js',
      'package.json',
    ]);
    expect(exportSpecifiers(manifest)).toEqual(['@x/a', '@x/a/fastify', '@x/a/package.json']);
    expect(exportSpecifiers({ name: '@x/b', version: '1.0.0', exports: './dist/index.js' })).toEqual([
      '@x/b',
    ]);
    expect(
      exportSpecifiers({ name: '@x/c', version: '1.0.0', exports: { types: './i.d.ts', default: './i.js' } }),
    ).toEqual(['@x/c']);
  });

  it('reports the targets a build did not produce', () => {
    const root = fixture({ 'dist/index.js': '', 'dist/index.d.ts': '', 'package.json': '{}' });
    const pkg = { name: '@x/a', version: '1.0.0', dir: root, path: 'packages/a', private: false, manifest };
    expect(missingExportTargets(pkg)).toEqual(['dist/fastify.d.ts', 'dist/fastify.js']);
  });
});
