import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScratch, type Scratch } from './scratch.ts';

// A bad run exits 1 with a message and no stack trace, and leaves `git status` clean.
describe('gen refuses bad input and writes nothing', () => {
  let scratch: Scratch;
  beforeAll(() => {
    scratch = createScratch();
  });
  afterAll(() => scratch.remove());

  it.each([
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
});
