import { describe, it } from 'vitest';
import { TestingError } from './errors.ts';
import { type BuildTarget, type HardeningOptions, normalizeOptions } from './options.ts';
import { formatResult, runHardeningCheck } from './run-hardening-checks.ts';

/**
 * The hardening conformance suite: one vitest test per check, each against a fresh app from `build`.
 *
 * @example
 * describeHardening(async ({ logStream, canary }) => {
 *   const app = await buildApp({ env: testEnv({ API_KEY_PEPPER: canary }), logStream });
 *   return { app, apiKey: await issueKey(app), spans, auditRecords: () => readAudit(app), beginShutdown: () => app.lifecycle.beginShutdown() };
 * });
 */
export function describeHardening(build: BuildTarget, options: HardeningOptions = {}): void {
  const normalized = normalizeOptions(options);
  describe('hardening conformance (@rampart/testing)', () => {
    for (const name of normalized.checks) {
      it(
        name,
        async () => {
          const result = await runHardeningCheck(name, build, { ...options, seed: normalized.seed });
          if (!result.ok)
            throw new TestingError('RAMPART_TESTING_CHECK_FAILED', { detail: `\n${formatResult(result)}` });
        },
        normalized.timeoutMs,
      );
    }
  });
}
