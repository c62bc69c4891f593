import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { GenError } from './errors.ts';
import { holdSignals, throwIfChildInterrupted } from './interrupt.ts';
import type { FileChange } from './staged-write.ts';

const FORMATTED = /\.(ts|mts|js|mjs|json|md|css|ya?ml)$/;

/**
 * Runs the workspace's own Biome (format plus safe fixes such as import order, with the workspace's
 * biome.json) over the generated files, so generated code passes `lint` however long the names are that
 * went into it. One Biome process for the whole set, in a scratch folder outside the workspace.
 */
export function formatChanges(root: string, changes: readonly FileChange[]): FileChange[] {
  const biome = join(root, 'node_modules/.bin/biome');
  if (!existsSync(biome)) {
    throw new GenError(
      'RAMPART_GEN_NOT_A_WORKSPACE',
      'the workspace is not installed (no Biome); run ./rampart install first',
    );
  }
  const targets = changes.filter((change) => FORMATTED.test(change.path));
  if (targets.length === 0) return [...changes];

  // A signal (Ctrl-C reaches Biome too) waits for the scratch folder to be removed.
  const release = holdSignals();
  const scratch = mkdtempSync(join(tmpdir(), 'rampart-gen-format-'));
  try {
    // The workspace's config, minus its VCS settings: the scratch folder is not a git checkout.
    const config = JSON.parse(readFileSync(join(root, 'biome.json'), 'utf8')) as Record<string, unknown>;
    delete config.$schema;
    config.vcs = { enabled: false };
    writeFileSync(join(scratch, 'biome.json'), JSON.stringify(config));
    for (const change of targets) {
      mkdirSync(dirname(join(scratch, change.path)), { recursive: true });
      writeFileSync(join(scratch, change.path), change.content);
    }
    const result = spawnSync(
      biome,
      ['check', '--write', '--error-on-warnings', '--no-errors-on-unmatched', '.'],
      {
        cwd: scratch,
        encoding: 'utf8',
      },
    );
    throwIfChildInterrupted(result.signal);
    if (result.status !== 0) {
      const detail = `${result.stdout}${result.stderr}`.trim().split('\n').slice(0, 12).join('\n');
      throw new GenError(
        'RAMPART_GEN_WRITE_FAILED',
        `the generated files fail Biome; nothing was written:\n${detail}`,
      );
    }
    return changes.map((change) =>
      FORMATTED.test(change.path)
        ? { ...change, content: readFileSync(join(scratch, change.path), 'utf8') }
        : change,
    );
  } finally {
    rmSync(scratch, { recursive: true, force: true });
    release();
  }
}
