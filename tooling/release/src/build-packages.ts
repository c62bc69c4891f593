import { join } from 'node:path';
import { ReleaseError } from './errors.ts';
import { runCommand } from './run-command.ts';
import { missingExportTargets, type Workspace, type WorkspacePackage } from './workspace.ts';

/**
 * Builds the given packages (and, through turbo's `^build`, what they depend on) and checks that every
 * file their `exports` point at now exists, so nothing half-built is ever packed.
 */
export async function buildPackages(
  workspace: Workspace,
  packages: readonly WorkspacePackage[],
  onOutput?: (text: string) => void,
): Promise<void> {
  if (packages.length === 0) return;
  const filters = packages.flatMap((pkg) => ['--filter', pkg.name]);
  await runCommand(
    join(workspace.root, 'node_modules/.bin/turbo'),
    ['run', 'build', ...filters, '--output-logs=errors-only'],
    { cwd: workspace.root, failWith: 'RAMPART_RELEASE_BUILD_FAILED', ...(onOutput ? { onOutput } : {}) },
  );
  const missing = packages.flatMap((pkg) => missingExportTargets(pkg).map((file) => `${pkg.path}/${file}`));
  if (missing.length > 0) {
    throw new ReleaseError('RAMPART_RELEASE_BUILD_OUTPUT_MISSING', missing.join(', '));
  }
}
