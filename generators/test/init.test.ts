import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScratch, type Scratch, workspaceRoot } from './scratch.ts';

// Read, not written out: a workspace already renamed by `gen init` runs this test against its own scope.
const from = (
  JSON.parse(readFileSync(join(workspaceRoot, 'package.json'), 'utf8')) as {
    rampart: { scope: string };
  }
).rampart.scope;
const to = from === '@acme' ? '@example' : '@acme';
const bare = from.slice(1);

/** Every way a file may spell the scope, one a line, and what each must read after the rename. */
const SPELLINGS: [before: string, after: string][] = [
  [`import '${from}/db';`, `import '${to}/db';`],
  [`"${from}"`, `"${to}"`],
  [`'${from}'`, `'${to}'`],
  [`\`${from}\``, `\`${to}\``],
  [`/from ['"]${from}\\/testing['"]/`, `/from ['"]${to}\\/testing['"]/`],
  [`join(outdir, 'bundle/assets/${from}', pkg)`, `join(outdir, 'bundle/assets/${to}', pkg)`],
  [`${from}:registry=http://localhost:4873/`, `${to}:registry=http://localhost:4873/`],
  [`new URL('${from}%2fregistry-probe', url)`, `new URL('${to}%2fregistry-probe', url)`],
  [`GET /${from}%2Fdb`, `GET /${to}%2Fdb`],
  [`GET /%40${bare}%2Fdb`, `GET /%40${to.slice(1)}%2Fdb`],
  [`every ${from} package`, `every ${to} package`],
  [`(${from}),`, `(${to}),`],
  [`${from}`, `${to}`],
  // Not the scope: longer scopes and words that start with its text, a domain, an address.
  [`${from}x/db`, `${from}x/db`],
  [`${from}-labs/db`, `${from}-labs/db`],
  [`${from}_internal`, `${from}_internal`],
  [`release-test${from}.invalid`, `release-test${from}.invalid`],
  [`see https://docs${from}.example`, `see https://docs${from}.example`],
  [`${from}.dev is our site.`, `${from}.dev is our site.`],
];

describe('gen init --scope', () => {
  let scratch: Scratch;
  beforeAll(() => {
    scratch = createScratch();
    writeFileSync(
      join(scratch.dir, 'scope-spellings.txt'),
      `${SPELLINGS.map(([before]) => before).join('\n')}\n`,
    );
    scratch.run('git', ['add', 'scope-spellings.txt']);
    scratch.run('git', [
      '-c',
      'user.name=test',
      '-c',
      'user.email=test@example.invalid',
      'commit',
      '-q',
      '-m',
      'spellings',
    ]);
  });
  afterAll(() => scratch.remove());

  it('renames the scope everywhere, and a second run changes nothing', () => {
    expect(scratch.status()).toBe('');
    const first = scratch.gen('init', '--scope', to);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);

    const root = JSON.parse(readFileSync(join(scratch.dir, 'package.json'), 'utf8'));
    expect(root.rampart.scope).toBe(to);
    const api = JSON.parse(readFileSync(join(scratch.dir, 'apps/api/package.json'), 'utf8'));
    expect(api.name).toBe(`${to}/api`);
    expect(readFileSync(join(scratch.dir, 'scope-spellings.txt'), 'utf8').split('\n')).toEqual([
      ...SPELLINGS.map(([, after]) => after),
      '',
    ]);
    // Every tracked line that still names the old scope followed by something a scope ends at: a slash
    // (escaped too), a quote, a colon, an encoded slash, a space, a bracket, a comma or the end of the line.
    const leftovers = scratch.run('git', [
      'grep',
      '-n',
      '-P',
      `${from}(/|\\\\/|"|'|\`|:|%2[fF]|\\s|\\)|,|$)`,
      '--',
      '.',
      ':!scope-spellings.txt',
    ]);
    expect(leftovers.output).toBe('');

    const statusAfterFirst = scratch.status();
    expect(statusAfterFirst).not.toBe('');
    const second = scratch.gen('init', '--scope', to);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('nothing to change');
    expect(scratch.status()).toBe(statusAfterFirst);

    const rules = scratch.run(process.execPath, ['tooling/house-rules/src/cli.ts']);
    expect(rules.output).not.toContain('deep import');
    expect(rules.output).not.toContain('rampart.scope');
    // The doctor finds each service's conformance suite by its import of <scope>/testing.
    const doctor = scratch.run(process.execPath, ['tooling/doctor/src/cli.ts']);
    expect(doctor.output).toContain('all checks pass');
    expect(doctor.code, doctor.output).toBe(0);
  });
});
