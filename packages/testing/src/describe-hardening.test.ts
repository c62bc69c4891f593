import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const vitest = fileURLToPath(new URL('../node_modules/vitest/vitest.mjs', import.meta.url));

function runSuite(env: Record<string, string>, args: string[] = []) {
  const result = spawnSync(
    process.execPath,
    [vitest, 'run', '--reporter=verbose', '--config', 'test/suite/vitest.config.ts', ...args],
    {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, ...env, NO_COLOR: '1', FORCE_COLOR: '0' },
    },
  );
  return { code: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('describeHardening in a real vitest run', () => {
  it('gives each check its own test, passing on a complete service', () => {
    const { code, output } = runSuite({});
    expect(code, output).toBe(0);
    expect(output).toMatch(/✓ .*security-headers/);
    expect(output).toMatch(/✓ .*readiness/);
  });

  it('fails the check whose piece is missing, naming it, and only that one', () => {
    const { code, output } = runSuite({ BROKEN: 'headers' });
    expect(code).toBe(1);
    expect(output).toMatch(/× .*security-headers/);
    expect(output).toMatch(/✓ .*readiness/);
    expect(output).toContain('RAMPART_TESTING_CHECK_FAILED');
    expect(output).toContain('security-headers: 200 on GET /health/live: strict-transport-security missing');
  });

  it('runs all eleven as one test each, in the order they share targets, even where tests run concurrently and shuffled', () => {
    const { code, output } = runSuite({ ALL: '1' }, ['--sequence.concurrent', '--sequence.shuffle']);
    expect(code, output).toBe(0);
    const passed = [...output.matchAll(/✓ .*hardening conformance \(@rampart\/testing\) > ([a-z-]+)/g)].map(
      ([, name]) => name,
    );
    expect(passed).toEqual([
      'auth',
      'trace-context',
      'bad-input',
      'audit',
      'canary-secret',
      'metrics',
      'readiness',
      'schema-sweep',
      'rate-limit',
      'protocol',
      'security-headers',
    ]);
  });

  it('prints what a check could not prove as KIT NOT CHECKED lines, and fails on them with failOnNotChecked', () => {
    const { code, output } = runSuite({ UNCHECKED: '1' });
    expect(code, output).toBe(0);
    expect(output).toMatch(/KIT NOT CHECKED: auth: scopes: no route was sent a key lacking its scope/);
    expect(output).toMatch(
      /KIT NOT CHECKED: audit: POST \/orders never answered 2xx in 10 attempt\(s\), last 422 RAMPART_FIXTURE_SKU_UNKNOWN \(seed \d+\)/,
    );
    expect(output).toMatch(/KIT NOT CHECKED: audit: DELETE \/orders\/:id never answered 2xx/);
    const strict = runSuite({ UNCHECKED: '1', FAIL_UNCHECKED: '1' });
    expect(strict.code).toBe(1);
    expect(strict.output).toMatch(/× .*audit/);
    expect(strict.output).toContain('not checked (failOnNotChecked): audit: POST /orders never answered 2xx');
  });
});
