import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { GenError } from './errors.ts';
import type { FileChange } from './staged-write.ts';

const FORMATTED = /\.(ts|mts|js|mjs|json|md|css)$/;

/**
 * Passes each generated file through the workspace's own formatter (Biome, with the workspace's
 * biome.json), so generated code passes `lint` however long the names are that went into it.
 */
export function formatChanges(root: string, changes: readonly FileChange[]): FileChange[] {
  const biome = join(root, 'node_modules/.bin/biome');
  if (!existsSync(biome)) {
    throw new GenError(
      'RAMPART_GEN_NOT_A_WORKSPACE',
      'the workspace is not installed (no Biome); run ./rampart install first',
    );
  }
  return changes.map((change) => {
    if (!FORMATTED.test(change.path)) return change;
    const result = spawnSync(biome, ['format', `--stdin-file-path=${change.path}`], {
      cwd: root,
      input: change.content,
      encoding: 'utf8',
    });
    if (result.status !== 0) {
      throw new GenError(
        'RAMPART_GEN_WRITE_FAILED',
        `generated ${change.path} does not parse (${result.stderr.trim().split('\n')[0]}); nothing was written`,
      );
    }
    return { ...change, content: result.stdout };
  });
}
