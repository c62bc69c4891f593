import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScratch, type Scratch } from './scratch.ts';

describe('gen init --scope', () => {
  let scratch: Scratch;
  beforeAll(() => {
    scratch = createScratch();
  });
  afterAll(() => scratch.remove());

  it('renames the scope everywhere, and a second run changes nothing', () => {
    const first = scratch.gen('init', '--scope', '@acme');
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);

    const root = JSON.parse(readFileSync(join(scratch.dir, 'package.json'), 'utf8'));
    expect(root.rampart.scope).toBe('@acme');
    const api = JSON.parse(readFileSync(join(scratch.dir, 'apps/api/package.json'), 'utf8'));
    expect(api.name).toBe('@acme/api');
    // Every tracked file that still names the old scope (git grep exits 1 when there is none).
    const leftovers = scratch.run('git', ['grep', '-l', '@rampart/']);
    expect(leftovers.output).toBe('');

    const statusAfterFirst = scratch.status();
    expect(statusAfterFirst).not.toBe('');
    const second = scratch.gen('init', '--scope', '@acme');
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('nothing to change');
    expect(scratch.status()).toBe(statusAfterFirst);

    const rules = scratch.run(process.execPath, ['tooling/house-rules/src/cli.ts']);
    expect(rules.output).not.toContain('deep import');
    expect(rules.output).not.toContain('rampart.scope');
  });
});
