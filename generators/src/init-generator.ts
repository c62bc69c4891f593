import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GeneratorSpec } from './spec.ts';
import type { FileChange } from './staged-write.ts';

const SCOPE = /^@[a-z0-9][a-z0-9-]*$/;
/** Text files the scope can appear in; binaries and generated output are left alone. */
const TEXT = /\.(ts|mts|js|mjs|json|ya?ml|md|hbs|sh)$|(^|\/)(rampart|run|Dockerfile|\.npmrc)$/;

/**
 * `gen init --scope @org`: renames the workspace's npm scope everywhere it is written. The current scope
 * is read from package.json's `rampart.scope`, so a second run with the same scope finds nothing to do.
 */
export const initGenerator: GeneratorSpec = {
  name: 'init',
  description: "rename the workspace's npm scope (e.g. @rampart -> @acme)",
  usage: 'gen init --scope @org',
  questions: [
    {
      name: 'scope',
      message: 'npm scope for your packages (e.g. @acme)',
      position: 0,
      required: true,
      validate: (value) =>
        SCOPE.test(value)
          ? undefined
          : `scope "${value}" must look like @acme: "@" then lowercase letters, digits or hyphens`,
    },
  ],
  async plan(answers, workspace) {
    const to = answers.scope!;
    const from = workspace.scope;
    if (to === from) return { changes: [], next: [] };
    const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
      cwd: workspace.root,
      encoding: 'utf8',
    })
      .split('\0')
      .filter((path) => path && (TEXT.test(path) || path === 'pnpm-lock.yaml'));
    const changes: FileChange[] = [];
    // `@rampart/` and `"@rampart"` (the scope on its own, in package.json and changeset config).
    const pattern = new RegExp(`${escapeRegExp(from)}(?=/|")`, 'g');
    for (const path of files) {
      let content: string;
      try {
        content = readFileSync(join(workspace.root, path), 'utf8');
      } catch {
        continue; // deleted in the work tree but still in the index
      }
      const next = content.replace(pattern, to);
      if (next !== content) changes.push({ path, content: next, kind: 'update' });
    }
    return { changes, next: ['./rampart install', './rampart test'] };
  },
};

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
