import { type CheckResult, createHardeningRun } from './hardening-run.ts';
import { type BuildTarget, type CheckName, type HardeningOptions, normalizeOptions } from './options.ts';

/**
 * Runs one hardening check against a fresh target from `build`, and returns its verdict instead of
 * throwing, so a kit (or its own tests) can assert on which piece failed.
 */
export async function runHardeningCheck(
  name: CheckName,
  build: BuildTarget,
  options: HardeningOptions = {},
): Promise<CheckResult> {
  const run = createHardeningRun(build, normalizeOptions({ ...options, checks: [name] }));
  try {
    return await run.run(name);
  } finally {
    await run.close();
  }
}

/**
 * Runs every selected check and returns their verdicts, in the order of `checks`. Checks that leave the
 * app as they found it share a target (three builds for all eleven); `isolateChecks: true` builds one for
 * each.
 *
 * @example
 * const results = await runHardeningChecks(build, { checks: ['auth', 'rate-limit'] });
 * const failed = results.filter((result) => !result.ok);
 */
export async function runHardeningChecks(
  build: BuildTarget,
  options: HardeningOptions = {},
): Promise<CheckResult[]> {
  const normalized = normalizeOptions(options);
  const run = createHardeningRun(build, normalized);
  const results: CheckResult[] = [];
  try {
    for (const name of run.order) results.push(await run.run(name));
  } finally {
    await run.close();
  }
  return results.sort((a, b) => normalized.checks.indexOf(a.check) - normalized.checks.indexOf(b.check));
}

/** The message a failed check is reported with. */
export function formatResult(result: CheckResult): string {
  const lines = [
    `hardening check "${result.check}" failed:`,
    ...result.failures.map((failure) => `  - ${failure}`),
  ];
  // With failOnNotChecked they are failures already.
  if (!result.failures.some((failure) => failure.startsWith('not checked (failOnNotChecked)')))
    lines.push(...result.notChecked.map((line) => `  (not checked: ${line})`));
  if (result.sharedWith.length > 0)
    lines.push(
      `  (it ran on an app that ${result.sharedWith.join(', ')} ran on first; isolateChecks: true gives it a fresh one)`,
    );
  return lines.join('\n');
}
