import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import type { BinaryCheck } from '../src/index.ts';

/** `test:heavy` (RELIABILITY_HEAVY=1) runs the longer variants; `test` the bounded ones CI runs. */
export const HEAVY = process.env.RELIABILITY_HEAVY === '1';
export const CI = process.env.CI === 'true';

/** Picks the bounded or the heavy value of a figure. */
export const bounded = <T>(ci: T, heavy: T): T => (HEAVY ? heavy : ci);

/**
 * Whether a scenario needing a binary runs: with CI=true a missing one throws (CI never skips in silence);
 * locally the scenario is skipped and says why.
 */
export function available(check: BinaryCheck, what: string): boolean {
  if (check.ok) return true;
  if (CI) throw new Error(`${what}: ${check.missing} is not installed, and CI=true never skips`);
  process.stdout.write(`reliability: SKIPPED ${what}: ${check.missing} is not installed\n`);
  return false;
}

const cleanups: Array<() => unknown> = [];

/** Runs after the current test, last registered first, even when it failed. */
export function cleanup(fn: () => unknown): void {
  cleanups.push(fn);
}

afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await Promise.resolve(fn()).catch(() => undefined);
});

/** A temp directory removed after the current test (or by the caller, with `keep`). */
export function tempDir(prefix: string, keep = false): string {
  const dir = mkdtempSync(join(tmpdir(), `rampart-reliability-${prefix}-`));
  if (!keep) cleanup(() => removeDir(dir));
  return dir;
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Load shedding's 503 (with Retry-After): a designed answer on a busy machine, counted but not a failure. */
export const SHED = '503 RAMPART_RESILIENCE_OVERLOADED';

/**
 * Answers of status 500 and up, by `<status> <code>`, except the coded 503s `allowed` names (shedding,
 * shutdown, an unavailable dependency: designed answers with Retry-After, not failures).
 */
export function serverErrors(
  problems: Record<string, number>,
  allowed: readonly string[] = [SHED],
): string[] {
  return Object.entries(problems)
    .filter(([label]) => Number(label.split(' ')[0]) >= 500 && !allowed.includes(label))
    .map(([label, count]) => `${label} x${count}`);
}

/**
 * The service's own account of its 5xx answers (the errors plugin logs each as "request failed" with the
 * error and its causes), at most `limit` lines: what a failed serverErrors() assertion needs to be read.
 */
export function failedRequestLines(
  lines: readonly string[],
  expected: readonly string[] = [],
  limit = 5,
): string {
  if (lines.length === 0) return 'the service logged no failed request';
  // Lines whose answer the test did not expect come first: one 500 among hundreds of expected 503s is the
  // line to read. The answer's code is the line's own last field (the error's may differ).
  const endings = expected.map((entry) => `"code":"${entry.split(' ').pop()}","msg":"request failed"`);
  const unexpected = lines.filter((line) => !endings.some((ending) => line.includes(ending)));
  const rest = lines.filter((line) => !unexpected.includes(line));
  return [...unexpected, ...rest].slice(0, limit).join('\n');
}

/** `a:1,b:2` for a figures line. */
export function compact(counts: Record<string, number>): string {
  const entries = Object.entries(counts);
  return entries.length === 0
    ? '-'
    : entries.map(([key, count]) => `${key.replace(/ /g, '_')}:${count}`).join(',');
}
