import { afterAll, describe, it } from 'vitest';
import { TestingError } from './errors.ts';
import { createHardeningRun } from './hardening-run.ts';
import { type BuildTarget, type HardeningOptions, normalizeOptions } from './options.ts';
import { formatResult } from './run-hardening-checks.ts';

/**
 * The hardening conformance suite: one vitest test per check, run in sequence. What a check could not
 * prove for lack of a seam or an option is printed as a `KIT NOT CHECKED: <check>: ...` line (a failure
 * with `failOnNotChecked: true`). Checks that leave the app
 * as they found it share one from `build` (three builds for all eleven); `isolateChecks: true` builds a fresh
 * app for each.
 *
 * @example
 * describeHardening(async ({ logStream, canary }) => {
 *   const app = await buildApp({ env: testEnv({ API_KEY_PEPPER: canary }), logStream });
 *   return { app, apiKey: await issueKey(app), spans, auditRecords: () => readAudit(app), beginShutdown: () => app.lifecycle.beginShutdown() };
 * });
 */
export function describeHardening(build: BuildTarget, options: HardeningOptions = {}): void {
  const normalized = normalizeOptions(options);
  // In order, one at a time, whatever the config's sequence options say: the checks share targets.
  describe('hardening conformance (@rampart/testing)', { concurrent: false, shuffle: false }, () => {
    const run = createHardeningRun(build, normalized);
    // A test filter can skip a target's last check, which would have released it.
    afterAll(() => run.close());
    for (const name of run.order) {
      it(
        name,
        async () => {
          const result = await run.run(name);
          // Never skipped in silence: what a check could not prove is printed where the test run shows it.
          for (const line of result.notChecked) console.warn(`KIT NOT CHECKED: ${line}`);
          if (!result.ok)
            throw new TestingError('RAMPART_TESTING_CHECK_FAILED', { detail: `\n${formatResult(result)}` });
        },
        normalized.timeoutMs,
      );
    }
  });
}
