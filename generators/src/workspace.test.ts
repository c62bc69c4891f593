import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { packageNameTaken, readWorkspace } from './workspace.ts';

describe('readWorkspace', () => {
  let root: string;
  const write = (path: string, content: string) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  };
  const manifest = (folder: string, name: string) =>
    write(`${folder}/package.json`, JSON.stringify({ name }));

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'rampart-workspace-'));
    write('package.json', JSON.stringify({ name: 'root', rampart: { scope: '@x' } }));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('names every package the pnpm-workspace.yaml globs take in, not only packages/ and apps/', () => {
    write(
      'pnpm-workspace.yaml',
      [
        '# the workspace',
        'packages:',
        '  - "packages/*"',
        "  - 'apps/*'",
        '',
        '  - tooling/**   # any depth',
        '  - "!tooling/skipped"',
        '  - ./single',
        '  - tools-{one,two}',
        'catalog:',
        '  - not/a/glob',
      ].join('\n'),
    );
    manifest('packages/db', '@x/db');
    manifest('apps/api', '@x/api');
    manifest('tooling/doctor', '@x/doctor');
    manifest('tooling/release', '@x/release-tooling');
    manifest('tooling/deep/nested', '@x/nested');
    manifest('tooling/skipped', '@x/skipped');
    manifest('tooling/node_modules/dep', '@x/dep');
    manifest('single', '@x/single');
    manifest('tools-two', '@x/two');
    manifest('tools-three', '@x/three');
    manifest('not/a/glob', '@x/catalog');
    mkdirSync(join(root, 'packages/no-manifest'));
    write('packages/broken/package.json', '{ not json');

    const workspace = readWorkspace(join(root, 'apps/api'));
    expect(Object.fromEntries(workspace.packageNames)).toEqual({
      '@x/db': 'packages/db',
      '@x/api': 'apps/api',
      '@x/doctor': 'tooling/doctor',
      '@x/release-tooling': 'tooling/release',
      '@x/nested': 'tooling/deep/nested',
      '@x/single': 'single',
      '@x/two': 'tools-two',
    });
    expect(packageNameTaken(workspace, 'doctor')).toBe(
      '"@x/doctor" is already the name of the workspace package in tooling/doctor; choose another name',
    );
    expect(packageNameTaken(workspace, 'release-tooling')).toContain('in tooling/release');
    expect(packageNameTaken(workspace, 'release')).toBeUndefined();
    expect(packageNameTaken(workspace, 'skipped')).toBeUndefined();
  });
});
