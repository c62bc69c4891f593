// The release flow end to end, as a platform team runs it: a copy of this workspace (as it is on disk,
// committed or not) gets a changeset, `pnpm release` publishes it to a real verdaccio with no uplinks, and a
// project outside the workspace installs every @rampart package from that registry and imports each entry.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkPackages, formatCheck } from './check-packages.ts';
import { type LocalRegistry, startLocalRegistry } from './local-registry.ts';
import { type CommandResult, runCommand } from './run-command.ts';
import { copyWorkspace } from './scratch-workspace.ts';
import { exportSpecifiers, publishablePackages, readWorkspace, type WorkspacePackage } from './workspace.ts';

const WORKSPACE_ROOT = resolve(import.meta.dirname, '../../..');
const CHANGED = '@rampart/db';
const SETUP_TIMEOUT_MS = 180_000;

describe('pnpm release against a local registry', { tags: ['slow'] }, () => {
  let scratch = '';
  let workspaceDir = '';
  let registry: LocalRegistry | undefined;
  let publishable: WorkspacePackage[] = [];

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'rampart-release-'));
    workspaceDir = join(scratch, 'workspace');
    await copyWorkspace(WORKSPACE_ROOT, workspaceDir);
    await run('pnpm', ['install', '--offline', '--frozen-lockfile', '--reporter=append-only'], workspaceDir);
    registry = await startLocalRegistry({ dir: join(scratch, 'registry') });
    publishable = publishablePackages(readWorkspace(workspaceDir));

    // Only this test's changeset is pending in the copy, whatever the workspace has queued for its next
    // release, so the plan (and every version below) is exactly the one this test asserts.
    for (const file of readdirSync(join(workspaceDir, '.changeset'))) {
      if (file.endsWith('.md') && file !== 'README.md') rmSync(join(workspaceDir, '.changeset', file));
    }
    writeFileSync(
      join(workspaceDir, '.changeset/release-test-db-minor.md'),
      `---\n"${CHANGED}": minor\n---\n\nRelease test: a minor change to ${CHANGED}.\n`,
    );
    await run('git', ['add', '--all'], workspaceDir);
    await run('git', ['commit', '--quiet', '-m', 'a changeset for the release test'], workspaceDir);
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    try {
      await registry?.stop();
    } finally {
      // The scratch copy holds a whole installed workspace: removing it takes seconds on a loaded machine.
      if (scratch) await rm(scratch, { recursive: true, force: true });
    }
  }, SETUP_TIMEOUT_MS);

  it('--dry-run prints the plan and changes nothing, locally or in the registry', async () => {
    const url = registry!.url;
    const changed = packageNamed(publishable, CHANGED);
    const result = await run('pnpm', ['release', '--dry-run', '--registry', url], workspaceDir);

    expect(result.stdout).toContain(`would publish ${CHANGED}@${minorBump(changed.version)}`);
    for (const pkg of publishable.filter((candidate) => candidate.manifest.dependencies?.[CHANGED])) {
      expect(result.stdout).toContain(`would publish ${pkg.name}@${patchBump(pkg.version)}`);
    }
    for (const pkg of publishable) expect(result.stdout).toMatch(new RegExp(`would publish ${pkg.name}@`));
    expect(result.stdout).not.toMatch(/would publish @rampart\/(api|generators|release-tooling)@/);
    expect(result.stdout).toContain('nothing was versioned, committed, published or tagged');

    expect((await run('git', ['status', '--porcelain'], workspaceDir)).stdout).toBe('');
    expect((await run('git', ['tag'], workspaceDir)).stdout).toBe('');
    expect((await fetch(new URL(CHANGED.replace('/', '%2f'), url))).status).toBe(404);
  });

  it('versions, publishes and tags every package, publint and attw pass, a fresh project installs and imports them', async () => {
    const url = registry!.url;
    const before = new Map(publishable.map((pkg) => [pkg.name, pkg.version]));
    const dependents = publishable.filter((pkg) => pkg.manifest.dependencies?.[CHANGED] !== undefined);
    const expected = new Map(before);
    expected.set(CHANGED, minorBump(before.get(CHANGED)!));
    for (const pkg of dependents) expected.set(pkg.name, patchBump(pkg.version));

    const release = await run('pnpm', ['release', '--registry', url], workspaceDir);
    expect(release.stdout).toContain('release: published');

    // publint and attw pass on each package as built and versioned for this release.
    const checks = await checkPackages({ root: workspaceDir, build: false, log: () => {} });
    expect(checks.map((check) => check.name).sort()).toEqual(publishable.map((pkg) => pkg.name).sort());
    expect(checks.filter((check) => !check.ok).map(formatCheck)).toEqual([]);

    // The version bump is committed and each published name@version is tagged on that commit.
    expect((await run('git', ['status', '--porcelain'], workspaceDir)).stdout).toBe('');
    expect((await run('git', ['log', '-1', '--format=%s'], workspaceDir)).stdout.trim()).toBe(
      'release: version packages',
    );
    const tags = (await run('git', ['tag', '--points-at', 'HEAD'], workspaceDir)).stdout.trim().split('\n');
    expect(tags.sort()).toEqual([...expected].map(([name, version]) => `${name}@${version}`).sort());

    // A project outside the workspace installs @rampart/* from that registry only (scoped to it; the
    // registry has no uplinks, so nothing else could have served them) and everything else as usual.
    const consumer = join(scratch, 'consumer');
    const dependencies: Record<string, string> = {};
    for (const pkg of publishable) {
      dependencies[pkg.name] = 'latest';
      for (const peer of Object.keys(pkg.manifest.peerDependencies ?? {})) {
        dependencies[peer] = installedVersion(pkg.dir, peer) ?? pkg.manifest.peerDependencies![peer]!;
      }
    }
    writeJson(join(consumer, 'package.json'), {
      name: 'release-consumer',
      private: true,
      type: 'module',
      dependencies,
    });
    const scope = CHANGED.split('/')[0];
    writeFileSync(join(consumer, '.npmrc'), `${scope}:registry=${url}\n`);
    await run(
      'pnpm',
      ['install', '--prefer-offline', '--no-frozen-lockfile', '--reporter=append-only'],
      consumer,
    );

    for (const [name, version] of expected) {
      const manifest = readJson(join(consumer, 'node_modules', name, 'package.json'));
      expect(`${manifest.name}@${manifest.version}`).toBe(`${name}@${version}`);
      // pnpm rewrote the workspace's own ranges when it packed: none may reach a consumer.
      expect(JSON.stringify(manifest)).not.toMatch(/"(workspace|catalog):/);
    }
    // Each installed tarball is the one the local registry serves (same integrity as its packument).
    const lockfile = readFileSync(join(consumer, 'pnpm-lock.yaml'), 'utf8');
    for (const [name, version] of expected) {
      const packument = (await (await fetch(new URL(name.replace('/', '%2f'), url))).json()) as {
        versions: Record<string, { dist: { integrity: string } }>;
      };
      const served = packument.versions[version]?.dist.integrity;
      expect(served).toMatch(/^sha512-/);
      expect(lockfile).toContain(`'${name}@${version}':\n    resolution: {integrity: ${served}}`);
    }
    for (const pkg of dependents) {
      const manifest = readJson(join(consumer, 'node_modules', pkg.name, 'package.json'));
      expect(manifest.dependencies[CHANGED]).toBe(`^${expected.get(CHANGED)}`);
    }

    // A minimal service boots with every public entry of every package imported.
    const specifiers = publishable.flatMap((pkg) => exportSpecifiers(pkg.manifest));
    writeFileSync(
      join(consumer, 'boot.mjs'),
      [
        `for (const specifier of ${JSON.stringify(specifiers)}) {`,
        '  const entry = await import(specifier);',
        "  console.log('imported', specifier, Object.keys(entry).length);",
        '}',
        "console.log('OK');",
        // Entries such as observability's /register may start work that holds the loop; the boot is done.
        'process.exit(0);',
      ].join('\n'),
    );
    const boot = await run(process.execPath, ['boot.mjs'], consumer);
    expect(boot.stdout.trim().split('\n').at(-1)).toBe('OK');
    for (const specifier of specifiers) expect(boot.stdout).toContain(`imported ${specifier} `);

    // Running the release again (as after a publish that failed part-way) publishes nothing twice.
    const again = await run('pnpm', ['release', '--registry', url], workspaceDir);
    expect(again.stdout).toContain('every publishable version is already in the registry; nothing to do');
    expect(again.stdout).not.toContain('release: building');
    expect((await run('git', ['log', '-1', '--format=%s'], workspaceDir)).stdout.trim()).toBe(
      'release: version packages',
    );
  });
});

async function run(command: string, args: string[], cwd: string): Promise<CommandResult> {
  const result = await runCommand(command, args, { cwd });
  if (result.code !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} exited ${result.code} in ${cwd}\n${result.stdout}\n${result.stderr}`,
    );
  }
  return result;
}

function packageNamed(packages: readonly WorkspacePackage[], name: string): WorkspacePackage {
  const pkg = packages.find((candidate) => candidate.name === name);
  if (!pkg) throw new Error(`${name} is not a publishable package of the workspace`);
  return pkg;
}

function minorBump(version: string): string {
  const [major, minor] = version.split('.').map(Number);
  return `${major}.${minor! + 1}.0`;
}

function patchBump(version: string): string {
  const [major, minor, patch] = version.split('.').map(Number);
  return `${major}.${minor}.${patch! + 1}`;
}

function installedVersion(dir: string, name: string): string | undefined {
  try {
    return readJson(join(dir, 'node_modules', name, 'package.json')).version;
  } catch {
    return undefined;
  }
}

function readJson(file: string) {
  return JSON.parse(readFileSync(file, 'utf8'));
}

function writeJson(file: string, value: unknown): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
}
