import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScratch, type Scratch } from './scratch.ts';

// A bad run exits 1 with a message and no stack trace, and leaves `git status` clean.
describe('gen refuses bad input and writes nothing', () => {
  let scratch: Scratch;
  beforeAll(() => {
    scratch = createScratch();
  });
  afterAll(() => scratch.remove());

  it.each<[string, string[], string]>([
    ['an unknown generator', ['nope'], 'unknown generator "nope"'],
    ['no generator', [], 'no generator named'],
    ['a name that is not kebab-case', ['package', 'PaymentsLedger'], 'must be kebab-case'],
    ['a reserved name', ['package', 'utils'], '"utils" is reserved'],
    ['a Node built-in name', ['package', 'http'], '"http" is reserved'],
    ['an existing package', ['package', 'db'], 'packages/db already exists'],
    ['a missing required answer without a terminal', ['package'], 'missing --name (no terminal to ask)'],
    ['an unknown flag', ['package', 'ledger', '--colour', 'red'], "Unknown option '--colour'"],
    ['too many arguments', ['package', 'ledger', 'extra'], 'too many arguments'],
    ['a bad scope', ['init', '--scope', 'acme'], 'scope "acme" must look like @acme'],
    [
      'a description that would end a doc comment',
      ['package', 'ledger', '--description', 'ends */ here'],
      'description must be one line',
    ],
    [
      'a resource name the generated code already uses',
      ['resource', 'api', 'page', '--fields', 'title:string'],
      'resource name "page" would clash with `page`',
    ],
    // The name of a workspace package outside packages/ (turbo refuses a workspace with two of one name).
    ...['bundle', 'doctor', 'reliability', 'house-rules', 'deploy-checks', 'release-tooling', 'api'].map(
      (name) =>
        [
          `a package name the workspace has (${name})`,
          ['package', name],
          `/${name}" is already the name of the workspace package in `,
        ] as [string, string[], string],
    ),
    // src/<name>.ts would be one of the template's own files, written twice.
    [
      'a package name that is a template file',
      ['package', 'errors'],
      'template already writes src/errors.ts',
    ],
    ['a package name that is the entry', ['package', 'index'], 'template already writes src/index.ts'],
    [
      'a description with a tab (invalid in package.json)',
      ['package', 'ledger', '--description', 'Double-entry\tledger.'],
      'without control characters',
    ],
    [
      'a description with a control character',
      ['package', 'ledger', '--description', 'Ledger\u0007.'],
      'without control characters',
    ],
    // Names whose generated code would not typecheck or start (verified by generating each).
    ...(
      [
        ['changes', 'would clash with `changes`'],
        ['body', 'would clash with `body`'],
        ['writer', 'would clash with `writer`'],
        ['stored', 'would clash with `stored`'],
        ['moved', 'would clash with `moved`'],
        ['fastify-request', 'would clash with `FastifyRequest`'],
        ['item', 'apps/api/src/app.ts already has `itemRoutes`'],
        ['package', '`package`, a JavaScript reserved word'],
        ['interface', '`interface`, a JavaScript reserved word'],
        ['enum', '`enum`, a JavaScript reserved word'],
        ['metrics', 'every service already serves /metrics'],
        ['health', 'apps/api/test/health.test.ts already exists'],
      ] as const
    ).map(
      ([name, message]) =>
        [
          `a resource name that breaks the code (${name})`,
          ['resource', 'api', name, '--fields', 'title:string'],
          message,
        ] as [string, string[], string],
    ),
  ])('%s', (_what, args, message) => {
    const result = scratch.gen(...args);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(message);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(scratch.status()).toBe('');
  });

  it("prints a generator's usage on --help, exits 0 and writes nothing", () => {
    for (const generator of ['service', 'task', 'resource', 'package', 'init']) {
      const result = scratch.gen(generator, '--help');
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(new RegExp(`^usage: gen ${generator} `));
    }
    expect(scratch.status()).toBe('');
  });

  it('lists files on --dry-run and writes none', () => {
    const result = scratch.gen('package', 'ledger', '--dry-run');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('create  packages/ledger/package.json');
    expect(result.stdout).toContain('create  .changeset/ledger-initial.md');
    expect(scratch.status()).toBe('');
  });

  // `pnpm gen package ledger | head -1`: the reader is gone before the list of files is printed.
  it('writes everything and exits 0 when whoever reads its output has gone (EPIPE)', async () => {
    const child = spawn(process.execPath, [join(scratch.dir, 'generators/src/cli.ts'), 'package', 'ledger'], {
      cwd: scratch.dir,
      env: { ...process.env, INIT_CWD: scratch.dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Closed before the child runs a line of its own: every write it makes to stdout fails with EPIPE.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += String(chunk);
    });
    const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
    try {
      expect(stderr).toBe('');
      expect({ code, signal }).toEqual({ code: 0, signal: null });
      expect(existsSync(join(scratch.dir, 'packages/ledger/package.json'))).toBe(true);
      expect(existsSync(join(scratch.dir, '.changeset/ledger-initial.md'))).toBe(true);
    } finally {
      scratch.run('git', ['clean', '-fdq', '--', 'packages/ledger', '.changeset']);
    }
    expect(scratch.status()).toBe('');
  });
});
