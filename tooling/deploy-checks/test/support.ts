import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type DeployTools, resolveDeployTools } from '../src/tools.ts';

export const workspaceRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** The installed tools; a missing one prints `SKIPPED TOOL: ...` here and throws with CI=true. */
export function deployTools(): DeployTools {
  return resolveDeployTools({ ci: process.env.CI === 'true', warn: (line) => console.warn(line) });
}

export interface GeneratedWorkspace {
  root: string;
  remove(): void;
}

/**
 * A minimal workspace (root manifests, Biome and TypeScript config, toolchain pins, this workspace's node_modules) into
 * which the real `gen service` writes one service: what a team gets from the generator today.
 */
export function generateService(name: string, port: number): GeneratedWorkspace {
  const root = mkdtempSync(join(tmpdir(), 'rampart-deploy-'));
  for (const file of [
    'package.json',
    'pnpm-workspace.yaml',
    'biome.json',
    'tsconfig.base.json',
    '.gitignore',
    'scripts/toolchain.sh',
  ]) {
    mkdirSync(join(root, file, '..'), { recursive: true });
    copyFileSync(join(workspaceRoot, file), join(root, file));
  }
  mkdirSync(join(root, 'apps'));
  mkdirSync(join(root, 'packages'));
  symlinkSync(join(workspaceRoot, 'node_modules'), join(root, 'node_modules'));
  // Biome (the generator formats with it) reads .gitignore only inside a git repository.
  execFileSync('git', ['init', '-q'], { cwd: root });
  const result = spawnSync(
    process.execPath,
    [
      join(workspaceRoot, 'generators/src/cli.ts'),
      'service',
      name,
      '--port',
      String(port),
      '--description',
      'A service under deploy checks.',
    ],
    {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, INIT_CWD: root },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  if (result.status !== 0) throw new Error(`gen service failed: ${result.stderr}${result.stdout}`);
  return { root, remove: () => rmSync(root, { recursive: true, force: true }) };
}
