import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GenError } from './errors.ts';

export interface ToolchainVersions {
  node: string;
  pnpm: string;
  turbo: string;
}

/**
 * The versions generated files pin (the Dockerfile's Node, pnpm and turbo), read from the workspace's own
 * pins so an image builds with exactly what the workspace is tested with. Nothing is fetched.
 */
export function readToolchainVersions(root: string): ToolchainVersions {
  const toolchain = readFileSync(join(root, 'scripts/toolchain.sh'), 'utf8');
  const workspace = readFileSync(join(root, 'pnpm-workspace.yaml'), 'utf8');
  const node = /RAMPART_NODE_VERSION="([^"]+)"/.exec(toolchain)?.[1];
  const pnpm = /RAMPART_PNPM_VERSION="([^"]+)"/.exec(toolchain)?.[1];
  const turbo = /^\s+["']?turbo["']?:\s*([^\s#]+)/m.exec(workspace)?.[1];
  if (!node || !pnpm || !turbo) {
    throw new GenError(
      'RAMPART_GEN_NOT_A_WORKSPACE',
      'cannot read the Node, pnpm and turbo pins from scripts/toolchain.sh and pnpm-workspace.yaml',
    );
  }
  return { node, pnpm, turbo };
}
