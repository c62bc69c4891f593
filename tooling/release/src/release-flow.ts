import { join } from 'node:path';
import { buildPackages } from './build-packages.ts';
import { ReleaseError } from './errors.ts';
import { gitChanges, gitCommitAll, gitTagsAtHead } from './git.ts';
import { type PlannedPackage, planRelease, publishedVersions, type ReleasePlan } from './release-plan.ts';
import { runCommand } from './run-command.ts';
import { publishablePackages, readWorkspace } from './workspace.ts';

export interface ReleaseOptions {
  /** Workspace root. */
  root: string;
  /** Plan and build only: nothing is versioned, committed, published or tagged. */
  dryRun: boolean;
  /** Registry to publish to; default: the one pnpm is configured with. */
  registry?: string;
  /** Progress lines and the output of the steps. */
  log: (text: string) => void;
}

export interface ReleaseResult {
  plan: ReleasePlan;
  /** `name@version` of every package this run published (empty on a dry run). */
  published: string[];
  /** Git tags created by this run (empty on a dry run). */
  tags: string[];
}

/**
 * `pnpm release`: build every publishable package, apply the pending changesets (`changeset version`,
 * dependents bumped through `updateInternalDependencies`), commit the version bump, publish with pnpm
 * (which rewrites `workspace:` and `catalog:` ranges in the packed manifests) every package whose version
 * is not in the registry yet, and tag each published `name@version`. Private packages are never published.
 */
export async function runRelease(options: ReleaseOptions): Promise<ReleaseResult> {
  const { root, dryRun, log } = options;
  const registryEnv: Record<string, string> = options.registry
    ? { PNPM_CONFIG_REGISTRY: options.registry }
    : {};
  const workspace = readWorkspace(root);
  const publishable = publishablePackages(workspace);

  if (!dryRun) {
    const changes = await gitChanges(root);
    if (changes.length > 0) {
      throw new ReleaseError(
        'RAMPART_RELEASE_DIRTY_TREE',
        `commit or remove first:\n${changes.slice(0, 20).join('\n')}`,
      );
    }
  }
  const registry = await configuredRegistry(root, registryEnv);
  log(
    `release${dryRun ? ' (dry run)' : ''}: ${publishable.length} publishable package(s), registry ${registry}\n`,
  );

  // The plan needs versions and the registry, not a build: a release with nothing to do stops here.
  const plan = await planRelease(workspace, registryEnv);
  log(formatPlan(plan, dryRun));
  if (!dryRun && plan.changesets.length === 0 && !plan.packages.some((pkg) => pkg.action === 'publish')) {
    log(
      'release: no pending changesets and every publishable version is already in the registry; nothing to do\n',
    );
    return { plan, published: [], tags: [] };
  }

  log(`release: building${dryRun ? '' : ' from scratch'} ${publishable.map((pkg) => pkg.name).join(', ')}\n`);
  // A real release builds from scratch (no stale dist files, no cache); a dry run may reuse turbo's cache.
  await buildPackages(workspace, publishable, { clean: !dryRun, onOutput: log });
  if (dryRun) {
    log('release (dry run): built; nothing was versioned, committed, published or tagged\n');
    return { plan, published: [], tags: [] };
  }

  const changesetBin = join(root, 'node_modules/.bin/changeset');
  if (plan.changesets.length > 0) {
    log('release: changeset version\n');
    await runCommand(changesetBin, ['version'], {
      cwd: root,
      failWith: 'RAMPART_RELEASE_COMMAND_FAILED',
      onOutput: log,
    });
    const bumped = readWorkspace(root).packages.filter((pkg) => {
      const before = workspace.packages.find((old) => old.name === pkg.name);
      return before && before.version !== pkg.version;
    });
    if ((await gitChanges(root)).length > 0) {
      await gitCommitAll(
        root,
        'release: version packages',
        bumped.map((pkg) => `${pkg.name}@${pkg.version}`).join('\n') || 'changelogs only',
      );
    }
  }

  if (!plan.packages.some((pkg) => pkg.action === 'publish')) {
    log('release: every publishable version is already in the registry; nothing to publish\n');
    return { plan, published: [], tags: [] };
  }
  log('release: changeset publish (pnpm pack + pnpm publish, then git tags)\n');
  await runCommand(changesetBin, ['publish'], {
    cwd: root,
    env: registryEnv,
    failWith: 'RAMPART_RELEASE_COMMAND_FAILED',
    onOutput: log,
  });

  const published = await confirmPublished(root, plan.packages, registryEnv);
  const tags = await gitTagsAtHead(root);
  const untagged = published.filter((release) => !tags.includes(release));
  if (untagged.length > 0) {
    throw new ReleaseError(
      'RAMPART_RELEASE_COMMAND_FAILED',
      `published but not tagged: ${untagged.join(', ')}`,
    );
  }
  log(
    `release: published ${published.join(', ')}\nrelease: tagged ${tags.join(', ')} (push with: git push --follow-tags)\n`,
  );
  return { plan, published, tags };
}

/** Every planned publish, confirmed by asking the registry for the version. */
async function confirmPublished(
  root: string,
  planned: readonly PlannedPackage[],
  registryEnv: Record<string, string>,
): Promise<string[]> {
  const releases = planned.filter((pkg) => pkg.action === 'publish');
  const missing: string[] = [];
  for (const pkg of releases) {
    if (!(await publishedVersions(root, pkg.name, registryEnv)).includes(pkg.to))
      missing.push(`${pkg.name}@${pkg.to}`);
  }
  if (missing.length > 0) {
    throw new ReleaseError(
      'RAMPART_RELEASE_COMMAND_FAILED',
      `not in the registry after publishing: ${missing.join(', ')}`,
    );
  }
  return releases.map((pkg) => `${pkg.name}@${pkg.to}`);
}

async function configuredRegistry(root: string, registryEnv: Record<string, string>): Promise<string> {
  const { stdout } = await runCommand('pnpm', ['config', 'get', 'registry'], {
    cwd: root,
    env: registryEnv,
    failWith: 'RAMPART_RELEASE_COMMAND_FAILED',
  });
  return stdout.trim();
}

/** The plan as the lines `pnpm release` prints. */
export function formatPlan(plan: ReleasePlan, dryRun: boolean): string {
  const verb = dryRun ? 'would publish' : 'publishing';
  const lines = [
    `release: ${plan.changesets.length} pending changeset(s)${plan.changesets.length ? `: ${plan.changesets.join(', ')}` : ''}`,
  ];
  for (const pkg of plan.packages) {
    const change = pkg.from === pkg.to ? pkg.to : `${pkg.from} -> ${pkg.to} (${pkg.bump})`;
    const action = pkg.action === 'publish' ? verb : 'already in the registry, skipped:';
    lines.push(`  ${action} ${pkg.name}@${pkg.to}  [${pkg.path}] ${change}`);
  }
  for (const pkg of plan.privateBumps) {
    lines.push(`  private, versioned only: ${pkg.name} ${pkg.from} -> ${pkg.to}`);
  }
  const tags = plan.packages.filter((pkg) => pkg.action === 'publish').map((pkg) => `${pkg.name}@${pkg.to}`);
  lines.push(`  ${dryRun ? 'would tag' : 'tagging'}: ${tags.length ? tags.join(', ') : 'nothing'}`);
  return `${lines.join('\n')}\n`;
}
