import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReleaseError } from './errors.ts';
import { runCommand } from './run-command.ts';
import { publishablePackages, type Workspace } from './workspace.ts';

export type Bump = 'major' | 'minor' | 'patch' | 'none';

/** What a release does to one publishable package. */
export interface PlannedPackage {
  name: string;
  path: string;
  from: string;
  to: string;
  bump: Bump;
  /** `publish` when `to` is not in the registry yet, `skip` when it already is. */
  action: 'publish' | 'skip';
}

export interface ReleasePlan {
  /** Pending changeset files (names without `.md`). */
  changesets: string[];
  packages: PlannedPackage[];
  /** Private packages a changeset would version; they are never published. */
  privateBumps: { name: string; from: string; to: string }[];
}

interface ChangesetStatus {
  releases: { name: string; type: Bump; oldVersion: string; newVersion: string }[];
}

/**
 * The release `changeset version` + publish would make right now, without changing anything: versions
 * from `changeset status` (the same release plan `changeset version` applies, dependents included), and
 * for each publishable package whether that version is already in the registry.
 */
export async function planRelease(
  workspace: Workspace,
  registryEnv: Record<string, string>,
): Promise<ReleasePlan> {
  const changesets = pendingChangesets(workspace.root);
  const status = changesets.length > 0 ? await changesetStatus(workspace.root) : { releases: [] };
  const bumps = new Map(status.releases.map((release) => [release.name, release]));

  const packages = await Promise.all(
    publishablePackages(workspace).map(async (pkg): Promise<PlannedPackage> => {
      const release = bumps.get(pkg.name);
      const to = release?.newVersion ?? pkg.version;
      const published = await publishedVersions(workspace.root, pkg.name, registryEnv);
      return {
        name: pkg.name,
        path: pkg.path,
        from: pkg.version,
        to,
        bump: release?.type ?? 'none',
        action: published.includes(to) ? 'skip' : 'publish',
      };
    }),
  );
  const privateBumps = workspace.packages
    .filter((pkg) => pkg.private && bumps.has(pkg.name))
    .map((pkg) => ({
      name: pkg.name,
      from: pkg.version,
      to: bumps.get(pkg.name)?.newVersion ?? pkg.version,
    }));
  return { changesets, packages, privateBumps };
}

/** The changeset files waiting in `.changeset/` (README.md is changesets' own, not a changeset). */
export function pendingChangesets(root: string): string[] {
  if (!existsSync(join(root, '.changeset', 'config.json'))) {
    throw new ReleaseError('RAMPART_RELEASE_NOT_A_WORKSPACE', `${root} has no .changeset/config.json`);
  }
  return readdirSync(join(root, '.changeset'))
    .filter((file) => file.endsWith('.md') && file !== 'README.md')
    .map((file) => file.slice(0, -3))
    .sort();
}

/** Versions of a package in the registry pnpm resolves it from; `[]` when the registry does not know it. */
export async function publishedVersions(
  root: string,
  name: string,
  registryEnv: Record<string, string>,
): Promise<string[]> {
  const result = await runCommand('pnpm', ['info', name, 'versions', '--json'], {
    cwd: root,
    env: registryEnv,
  });
  const parsed = parseJson(result.stdout);
  if (result.code === 0) {
    if (typeof parsed === 'string') return [parsed];
    if (Array.isArray(parsed)) return parsed.filter((item): item is string => typeof item === 'string');
  }
  const code = (parsed as { error?: { code?: string } } | undefined)?.error?.code;
  if (code === 'ERR_PNPM_FETCH_404' || code === 'E404' || code === 'ERR_PNPM_PACKAGE_NOT_FOUND') return [];
  throw new ReleaseError(
    'RAMPART_RELEASE_REGISTRY_UNREACHABLE',
    `pnpm info ${name} failed: ${(result.stdout || result.stderr).trim().slice(0, 500)}`,
    { cause: result },
  );
}

async function changesetStatus(root: string): Promise<ChangesetStatus> {
  const dir = mkdtempSync(join(tmpdir(), 'rampart-release-plan-'));
  try {
    const output = join(dir, 'status.json');
    await runCommand(join(root, 'node_modules/.bin/changeset'), ['status', '--output', output], {
      cwd: root,
      failWith: 'RAMPART_RELEASE_COMMAND_FAILED',
    });
    return JSON.parse(readFileSync(output, 'utf8')) as ChangesetStatus;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
