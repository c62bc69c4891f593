import type { Check } from '../check-context.ts';

/** Readiness answers 200, then 503 once shutdown begins, while liveness stays 200. */
export const readinessCheck: Check = async (context) => {
  const { readinessPath, livenessPath } = context.options;
  const before = await context.inject({ url: readinessPath });
  if (before.statusCode !== 200)
    context.fail(`readiness: GET ${readinessPath} answered ${before.statusCode} before shutdown, want 200`);
  if (!context.target.beginShutdown) {
    context.fail('readiness: the target gives no beginShutdown(), so shutdown cannot be checked');
    return;
  }
  await context.target.beginShutdown();
  const during = await context.inject({ url: readinessPath });
  if (during.statusCode !== 503)
    context.fail(
      `readiness: GET ${readinessPath} answered ${during.statusCode} after beginShutdown, want 503`,
    );
  const live = await context.inject({ url: livenessPath });
  if (live.statusCode !== 200)
    context.fail(
      `readiness: GET ${livenessPath} answered ${live.statusCode} during shutdown, want 200 (a drain is not a crash)`,
    );
};
