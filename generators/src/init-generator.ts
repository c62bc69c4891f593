import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GeneratorSpec } from './spec.ts';
import type { FileChange } from './staged-write.ts';

const SCOPE = /^@[a-z0-9][a-z0-9-]*$/;

/**
 * `gen init --scope @org`: renames the workspace's npm scope everywhere it is written. The current scope
 * is read from package.json's `rampart.scope`, so a second run with the same scope finds nothing to do.
 */
export const initGenerator: GeneratorSpec = {
  name: 'init',
  description: "rename the workspace's npm scope (e.g. to @acme)",
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
      .filter(Boolean);
    const changes: FileChange[] = [];
    const pattern = scopePattern(from);
    for (const path of files) {
      let bytes: Buffer;
      try {
        bytes = readFileSync(join(workspace.root, path));
      } catch {
        continue; // deleted in the work tree but still in the index
      }
      if (bytes.includes(0)) continue; // binary: leave it alone
      const content = bytes.toString('utf8');
      const next = content.replace(pattern, (_whole, at: string) => `${at}${to.slice(1)}`);
      if (next !== content) changes.push({ path, content: next, kind: 'update', original: content });
    }
    return { changes, next: ['./rampart install', './rampart test'] };
  },
};

/**
 * Every spelling of the scope `from` as a token of its own: followed by `/`, an escaped `\/`, a quote, `:`
 * (`@scope:registry`), `%2f`, a space, the end of the line..., with its `@` written as `@` or `%40`. Not a
 * longer scope or word that merely starts with it (`@scopex`, `@scope-labs`, `@scope_x`), nor a domain
 * (`someone@scope.invalid`: a letter before the `@`, a dot and a letter after).
 */
export function scopePattern(from: string): RegExp {
  const name = escapeRegExp(from.slice(1));
  return new RegExp(`(?<![A-Za-z0-9_.+-])(@|%40)${name}(?![A-Za-z0-9_-]|\\.[A-Za-z0-9])`, 'g');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
