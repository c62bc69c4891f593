import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { ReleaseError } from './errors.ts';
import { runCommand } from './run-command.ts';
import { missingExportTargets, type Workspace, type WorkspacePackage } from './workspace.ts';

export interface BuildOptions {
  /**
   * Delete each package's `dist` and build without turbo's cache, so that nothing a previous build left
   * behind (tsc never deletes outputs whose source is gone) can be packed. A real release does this.
   */
  clean?: boolean;
  onOutput?: (text: string) => void;
}

/**
 * Builds the given packages (and, through turbo's `^build`, what they depend on) and checks that every
 * file their `exports` point at now exists, so nothing half-built is ever packed.
 */
export async function buildPackages(
  workspace: Workspace,
  packages: readonly WorkspacePackage[],
  options: BuildOptions = {},
): Promise<void> {
  if (packages.length === 0) return;
  if (options.clean) {
    for (const pkg of packages) rmSync(join(pkg.dir, 'dist'), { recursive: true, force: true });
  }
  const filters = packages.flatMap((pkg) => ['--filter', pkg.name]);
  await runCommand(
    join(workspace.root, 'node_modules/.bin/turbo'),
    ['run', 'build', ...filters, '--output-logs=errors-only', ...(options.clean ? ['--force'] : [])],
    {
      cwd: workspace.root,
      failWith: 'RAMPART_RELEASE_BUILD_FAILED',
      ...(options.onOutput ? { onOutput: options.onOutput } : {}),
    },
  );
  const missing = packages.flatMap((pkg) => missingExportTargets(pkg).map((file) => `${pkg.path}/${file}`));
  if (missing.length > 0) {
    throw new ReleaseError('RAMPART_RELEASE_BUILD_OUTPUT_MISSING', missing.join(', '));
  }
}
