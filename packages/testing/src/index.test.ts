import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isTestingError, TESTING_ERRORS, TestingError } from './errors.ts';
import { normalizeOptions } from './options.ts';

describe('@rampart/testing entry', () => {
  it('exports exactly its public API', async () => {
    expect(Object.keys(await import('./index.ts')).sort()).toEqual([
      'CHECK_NAMES',
      'HARDENING_DEFAULTS',
      'TESTING_ERRORS',
      'TestingError',
      'arbitraryFromSchema',
      'createLogCapture',
      'describeHardening',
      'formatResult',
      'isTestingError',
      'runHardeningCheck',
      'runHardeningChecks',
    ]);
  });

  it('documents every error code in the README table, with its status and message', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const rows = [...readme.matchAll(/^\| `(RAMPART_TESTING_[A-Z_]+)` +\| (\d+) +\| (.+?) +\|$/gm)].map(
      ([, code, status, message]) => [code, Number(status), message],
    );
    expect(rows).toEqual(
      Object.entries(TESTING_ERRORS).map(([code, { status, message }]) => [code, status, message]),
    );
  });

  it('rejects invalid options at once with a coded error', () => {
    expect(() => normalizeOptions({ checks: ['auth', 'nope' as never] })).toThrow(
      /RAMPART_TESTING_OPTIONS_INVALID/,
    );
    expect(() => normalizeOptions({ randomPaths: 0 })).toThrow(/randomPaths must be a positive integer/);
    expect(() => normalizeOptions({ metricsPath: 'metrics' })).toThrow(/metricsPath must start with \//);
    expect(() => normalizeOptions({ publicWriteRoutes: ['/webhooks'] })).toThrow(
      /publicWriteRoutes: "\/webhooks" is not a route like 'POST \/orders'/,
    );
    expect(normalizeOptions({ rateLimitExempt: ['post /webhooks/'] }).rateLimitExempt).toEqual([
      'POST /webhooks',
    ]);
    expect(() => normalizeOptions({ problemExtensions: [''] })).toThrow(/problemExtensions must be/);
    const error = new TestingError('RAMPART_TESTING_CHECK_FAILED', { detail: 'x', cause: new Error('y') });
    expect(isTestingError(error, 'RAMPART_TESTING_CHECK_FAILED')).toBe(true);
    expect(error.status).toBe(500);
    expect(isTestingError(new Error('plain'))).toBe(false);
  });

  it('fills defaults once', () => {
    const options = normalizeOptions({ seed: 7 });
    expect(options).toMatchObject({ randomPaths: 10_000, readinessPath: '/health/ready', seed: 7 });
    expect(options.checks).toHaveLength(11);
    expect(options).toMatchObject({ publicWriteRoutes: [], rateLimitExempt: [], failOnNotChecked: false });
  });
});
