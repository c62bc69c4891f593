import { spawnSync } from 'node:child_process';
import { DeployCheckError } from './errors.ts';

/** True when `command --version`-style probing runs it successfully. */
export function hasTool(command: string, probe: readonly string[] = ['--version']): boolean {
  const result = spawnSync(command, probe, { encoding: 'utf8', stdio: 'pipe', timeout: 30_000 });
  return result.error === undefined && result.status === 0;
}

export interface ToolRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a tool to completion (bounded by `timeoutMs`), never through a shell. */
export function runTool(
  command: string,
  args: readonly string[],
  options: { cwd?: string; timeoutMs?: number } = {},
): ToolRun {
  const result = spawnSync(command, args, {
    cwd: options.cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: options.timeoutMs ?? 60_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  const stderr = result.error ? `${result.stderr ?? ''}${result.error.message}` : (result.stderr ?? '');
  return { code: result.status ?? 1, stdout: result.stdout ?? '', stderr };
}

/** The external tools the checks run; `null` when one is not installed (its checks are reported skipped). */
export interface DeployTools {
  kubectl: string | null;
  promtool: string | null;
  dockerCompose: string | null;
}

/** Which of the tools the deployment checks run are installed here (probed by running them). */
export function findDeployTools(): DeployTools {
  return {
    kubectl: hasTool('kubectl', ['version', '--client']) ? 'kubectl' : null,
    promtool: hasTool('promtool') ? 'promtool' : null,
    dockerCompose: hasTool('docker-compose', ['version']) ? 'docker-compose' : null,
  };
}

/**
 * The installed tools, under CI's rule: with `ci` a missing tool throws RAMPART_DEPLOY_TOOL_MISSING (CI
 * never skips silently); otherwise each missing one is announced through `warn` as
 * `SKIPPED TOOL: <name> not installed` and its checks skip.
 */
export function resolveDeployTools(
  options: { ci: boolean; warn: (line: string) => void },
  found = findDeployTools(),
): DeployTools {
  const names = { kubectl: 'kubectl', promtool: 'promtool', dockerCompose: 'docker-compose' } as const;
  const missing = (Object.keys(names) as (keyof DeployTools)[])
    .filter((tool) => found[tool] === null)
    .map((tool) => names[tool]);
  if (missing.length > 0 && options.ci) {
    throw new DeployCheckError(
      'RAMPART_DEPLOY_TOOL_MISSING',
      `${missing.join(', ')} (CI=true; .ci/run installs them from Debian)`,
    );
  }
  for (const name of missing) options.warn(`SKIPPED TOOL: ${name} not installed`);
  return found;
}
