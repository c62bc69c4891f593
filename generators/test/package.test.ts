import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScratch, type Scratch } from './scratch.ts';

describe('gen package', () => {
  let scratch: Scratch;
  beforeAll(() => {
    scratch = createScratch();
  });
  afterAll(() => scratch.remove());

  it('writes a package that installs offline and passes its own typecheck, lint and tests', () => {
    const result = scratch.gen('package', 'ledger', '--description', 'Double-entry ledger postings.');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('wrote 10 file(s)');
    expect(result.stdout).toContain('next:');

    const manifest = JSON.parse(readFileSync(join(scratch.dir, 'packages/ledger/package.json'), 'utf8'));
    expect(manifest).toMatchObject({ name: '@rampart/ledger', description: 'Double-entry ledger postings.' });
    // Front matter exactly as changesets parses it (a Markdown formatter once turned it into a heading).
    expect(readFileSync(join(scratch.dir, '.changeset/ledger-initial.md'), 'utf8')).toMatch(
      /^---\n"@rampart\/ledger": minor\n---\n\nAdd @rampart\/ledger: /,
    );

    const install = scratch.run('pnpm', [
      'install',
      '--offline',
      '--no-frozen-lockfile',
      '--reporter=silent',
    ]);
    expect(install.output).toBe('');
    expect(install.code).toBe(0);
    const pkg = join(scratch.dir, 'packages/ledger');
    for (const [command, args] of [
      ['pnpm', ['exec', 'tsc', '-p', 'tsconfig.json', '--noEmit']],
      ['pnpm', ['exec', 'biome', 'check', '--error-on-warnings', '.']],
      ['pnpm', ['exec', 'vitest', 'run']],
      ['pnpm', ['exec', 'tsc', '-p', 'tsconfig.build.json']],
    ] as const) {
      const step = scratch.run(command, [...args], pkg);
      expect(step.code, `${args.join(' ')}\n${step.output}`).toBe(0);
    }
    const rules = scratch.run(process.execPath, ['tooling/house-rules/src/cli.ts']);
    expect(rules.output).not.toContain('packages/ledger');
  });
});
