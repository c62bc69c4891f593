import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { GenError } from './errors.ts';

export interface Workspace {
  /** Absolute path of the workspace root (the folder with pnpm-workspace.yaml). */
  root: string;
  /** npm scope of the workspace's packages, e.g. "@rampart". */
  scope: string;
  /** Names of the folders under packages/ and apps/. */
  packages: string[];
  apps: string[];
}

/** Finds the workspace root at or above `from` and reads what generators need from it. */
export function readWorkspace(from: string): Workspace {
  let dir = resolve(from);
  while (!existsSync(join(dir, 'pnpm-workspace.yaml'))) {
    const parent = dirname(dir);
    if (parent === dir)
      throw new GenError('RAMPART_GEN_NOT_A_WORKSPACE', `no pnpm-workspace.yaml at or above ${from}`);
    dir = parent;
  }
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
    rampart?: { scope?: unknown };
  };
  const scope = manifest.rampart?.scope;
  if (typeof scope !== 'string' || !/^@[a-z0-9][a-z0-9-._]*$/.test(scope)) {
    throw new GenError(
      'RAMPART_GEN_NOT_A_WORKSPACE',
      `${join(dir, 'package.json')} has no valid "rampart.scope"`,
    );
  }
  return { root: dir, scope, packages: folders(join(dir, 'packages')), apps: folders(join(dir, 'apps')) };
}

function folders(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
}
