import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { main, parseReleaseArgs } from './release.ts';
import { formatPlan, runRelease } from './release-flow.ts';
import { runCommand } from './run-command.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function capture() {
  const io = {
    stdout: '',
    stderr: '',
    out(text: string) {
      io.stdout += text;
    },
    err(text: string) {
      io.stderr += text;
    },
  };
  return io;
}

describe('public entries', () => {
  it('pin their export names', async () => {
    expect(Object.keys(await import('./release.ts')).sort()).toEqual(['main', 'parseReleaseArgs']);
    expect(Object.keys(await import('./release-flow.ts')).sort()).toEqual(['formatPlan', 'runRelease']);
    expect(Object.keys(await import('./check-packages.ts')).sort()).toEqual([
      'ATTW_PROFILE',
      'REQUIRED_FIELDS',
      'checkPackage',
      'checkPackages',
      'formatCheck',
      'main',
    ]);
    expect(Object.keys(await import('./local-registry.ts')).sort()).toEqual([
      'LOCAL_REGISTRY_DEFAULTS',
      'startLocalRegistry',
    ]);
  });
});

describe('parseReleaseArgs', () => {
  it('defaults to a real release of the workspace this file lives in', () => {
    expect(parseReleaseArgs([])).toEqual({ root: ROOT, dryRun: false });
  });

  it('takes --dry-run, --root and a normalised --registry', () => {
    expect(
      parseReleaseArgs(['--dry-run', '--registry', 'http://127.0.0.1:4873', '--root', '/tmp/ws']),
    ).toEqual({
      root: '/tmp/ws',
      dryRun: true,
      registry: 'http://127.0.0.1:4873/',
    });
    expect(parseReleaseArgs(['--help'])).toBe('help');
  });

  it.each([
    [['--dryrun']],
    [['publish']],
    [['--registry']],
    [['--registry', 'not a url']],
    [['--registry', 'ftp://registry.invalid/']],
  ])('refuses %j with RAMPART_RELEASE_BAD_ARGUMENTS', (argv) => {
    expect(() => parseReleaseArgs(argv)).toThrow(
      expect.objectContaining({ code: 'RAMPART_RELEASE_BAD_ARGUMENTS' }),
    );
  });
});

describe('main', () => {
  it('prints the code and message, no stack, and exits 1 on a mistake', async () => {
    const io = capture();
    expect(await main(['--registry', 'nope'], io)).toBe(1);
    expect(io.stderr).toMatch(
      /^RAMPART_RELEASE_BAD_ARGUMENTS: the command-line arguments are not understood/,
    );
    expect(io.stderr).not.toMatch(/\n\s+at /);
  });

  it('prints the usage for --help', async () => {
    const io = capture();
    expect(await main(['--help'], io)).toBe(0);
    expect(io.stdout).toContain('usage: pnpm release [--dry-run] [--registry <url>]');
  });
});

describe('runRelease', () => {
  it('refuses a real release from a dirty work tree before building or changing anything', async () => {
    const root = mkdtempSync(join(tmpdir(), 'rampart-release-dirty-'));
    dirs.push(root);
    writeFileSync(join(root, 'package.json'), '{"name":"root","private":true}');
    writeFileSync(join(root, 'pnpm-workspace.yaml'), 'packages:\n  - packages/*\n');
    await runCommand('git', ['init', '--quiet'], { cwd: root, failWith: 'RAMPART_RELEASE_COMMAND_FAILED' });
    writeFileSync(join(root, 'stray.txt'), 'not committed');
    const log: string[] = [];
    await expect(runRelease({ root, dryRun: false, log: (text) => log.push(text) })).rejects.toMatchObject({
      code: 'RAMPART_RELEASE_DIRTY_TREE',
      message: expect.stringContaining('stray.txt'),
    });
    expect(log).toEqual([]);
  });
});

describe('runRelease without changesets', () => {
  it('refuses a workspace that has no .changeset/config.json, even for a dry run', async () => {
    const root = mkdtempSync(join(tmpdir(), 'rampart-release-nochangesets-'));
    dirs.push(root);
    writeFileSync(join(root, 'package.json'), '{"name":"root","private":true}');
    writeFileSync(join(root, 'pnpm-workspace.yaml'), 'packages:\n  - packages/*\n');
    await expect(runRelease({ root, dryRun: true, log: () => {} })).rejects.toMatchObject({
      code: 'RAMPART_RELEASE_NOT_A_WORKSPACE',
      message: expect.stringContaining('.changeset/config.json'),
    });
  });
});

describe('formatPlan', () => {
  const plan = {
    changesets: ['brave-db'],
    packages: [
      {
        name: '@x/db',
        path: 'packages/db',
        from: '0.1.0',
        to: '0.2.0',
        bump: 'minor' as const,
        action: 'publish' as const,
      },
      {
        name: '@x/log',
        path: 'packages/log',
        from: '1.0.0',
        to: '1.0.0',
        bump: 'none' as const,
        action: 'skip' as const,
      },
    ],
    privateBumps: [{ name: '@x/api', from: '0.0.0', to: '0.0.1' }],
  };

  it('says what would be published, skipped, versioned only and tagged', () => {
    expect(formatPlan(plan, true)).toBe(
      [
        'release: 1 pending changeset(s): brave-db',
        '  would publish @x/db@0.2.0  [packages/db] 0.1.0 -> 0.2.0 (minor)',
        '  already in the registry, skipped: @x/log@1.0.0  [packages/log] 1.0.0',
        '  private, versioned only: @x/api 0.0.0 -> 0.0.1',
        '  would tag: @x/db@0.2.0',
        '',
      ].join('\n'),
    );
    expect(formatPlan(plan, false)).toContain('  publishing @x/db@0.2.0');
  });
});
