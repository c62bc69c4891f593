import type { CheckName } from './options.ts';

/**
 * Which checks share one built target, in the order they run on it. Building the app (a fresh database,
 * every plugin, an API key) costs more than most checks, so checks that leave the app usable share one.
 * A check that changes its target for good runs last on it:
 *
 * - `readiness` and `security-headers` end with `beginShutdown()`, after which a service may refuse
 *   anything; each is last on its own target (readiness must see 200 before it begins shutdown itself).
 * - `rate-limit` spends the key's window: every keyed request after it would answer 429.
 * - `metrics` sends its random paths without a key from one address, spending that address's
 *   failed-auth allowance (which then refuses even a valid key from it): only `readiness` (probes are
 *   never authenticated or rate-limited) runs after it. `auth` sends each probe from an address of its own.
 * - `protocol` sends keyed probes (wrong methods, unknown paths, encoded bodies) that a shared target's rate
 *   limit might not have room for after target 1's checks: it goes first on the third target.
 * - `schema-sweep` sends more keyed requests than a test rate limit allows and rebuilds the target at
 *   the first 429: it goes with `rate-limit`, which only needs the limit to be reached again.
 */
const SHARED_TARGETS: readonly (readonly CheckName[])[] = [
  ['auth', 'trace-context', 'bad-input', 'audit', 'canary-secret', 'metrics', 'readiness'],
  ['schema-sweep', 'rate-limit'],
  ['protocol', 'security-headers'],
];

/** The selected checks grouped by the target they run on, in run order; one target each when isolated. */
export function planTargets(checks: readonly CheckName[], isolate: boolean): CheckName[][] {
  if (isolate) return checks.map((check) => [check]);
  return SHARED_TARGETS.map((group) => group.filter((check) => checks.includes(check))).filter(
    (group) => group.length > 0,
  );
}
