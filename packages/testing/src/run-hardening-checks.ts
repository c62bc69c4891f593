import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { type Check, type CheckContext, injectUnshed } from './check-context.ts';
import { auditCheck } from './checks/audit.ts';
import { authCheck } from './checks/auth.ts';
import { badInputCheck } from './checks/bad-input.ts';
import { canarySecretCheck } from './checks/canary-secret.ts';
import { metricsCheck } from './checks/metrics.ts';
import { rateLimitCheck } from './checks/rate-limit.ts';
import { readinessCheck } from './checks/readiness.ts';
import { schemaSweepCheck } from './checks/schema-sweep.ts';
import { securityHeadersCheck } from './checks/security-headers.ts';
import { traceContextCheck } from './checks/trace-context.ts';
import { TestingError } from './errors.ts';
import { createLogCapture } from './log-capture.ts';
import {
  type BuildTarget,
  type CheckName,
  type HardeningOptions,
  type HardeningTarget,
  type NormalizedOptions,
  normalizeOptions,
} from './options.ts';
import { captureRoutes, type RouteRecord } from './route-table.ts';

/** One check's verdict: every failure names the route or piece that broke. */
export interface CheckResult {
  check: CheckName;
  ok: boolean;
  failures: string[];
  notes: string[];
  durationMs: number;
}

const CHECKS: Record<CheckName, Check> = {
  auth: authCheck,
  'rate-limit': rateLimitCheck,
  'security-headers': securityHeadersCheck,
  metrics: metricsCheck,
  'trace-context': traceContextCheck,
  'bad-input': badInputCheck,
  'schema-sweep': schemaSweepCheck,
  'canary-secret': canarySecretCheck,
  audit: auditCheck,
  readiness: readinessCheck,
};

/** A canary shaped like a real API key, so pattern-based redaction is exercised as well as named fields. */
function newCanary(): string {
  return `rk_canary_${randomBytes(8).toString('hex')}_${randomBytes(22).toString('hex')}`;
}

interface Built {
  target: HardeningTarget;
  routes: RouteRecord[];
}

async function buildOnce(build: BuildTarget, io: Parameters<BuildTarget>[0]): Promise<Built> {
  const { value: target, routes } = await captureRoutes(
    () => build(io),
    (value) => value?.app,
  );
  if (!target || typeof target.app?.inject !== 'function')
    throw new TestingError('RAMPART_TESTING_TARGET_INVALID', { detail: 'app must be a Fastify instance' });
  if (typeof target.apiKey !== 'string' || target.apiKey.length === 0)
    throw new TestingError('RAMPART_TESTING_TARGET_INVALID', { detail: 'apiKey must be a non-empty string' });
  await target.app.ready();
  return { target, routes: routes() };
}

async function release(target: HardeningTarget): Promise<void> {
  try {
    await target.app.close();
  } finally {
    await target.close?.();
  }
}

async function runOne(name: CheckName, build: BuildTarget, options: NormalizedOptions): Promise<CheckResult> {
  const started = performance.now();
  const logs = createLogCapture();
  const io = { logStream: logs.stream, canary: newCanary() };
  const failures: string[] = [];
  const notes: string[] = [];
  let built = await buildOnce(build, io);
  const context: CheckContext = {
    get app(): FastifyInstance {
      return built.target.app;
    },
    get target() {
      return built.target;
    },
    get routes() {
      return built.routes;
    },
    logs,
    canary: io.canary,
    inject: (request) => injectUnshed(built.target.app, request),
    options,
    async rebuild() {
      await release(built.target);
      built = await buildOnce(build, io);
    },
    fail: (message) => failures.push(message),
    note: (message) => notes.push(message),
  };
  try {
    await CHECKS[name](context);
  } catch (error) {
    failures.push(`${name}: the check could not run: ${(error as Error).message}`);
  } finally {
    await release(built.target);
  }
  return { check: name, ok: failures.length === 0, failures, notes, durationMs: performance.now() - started };
}

/**
 * Runs one hardening check against a fresh target from `build`, and returns its verdict instead of
 * throwing, so a kit (or its own tests) can assert on which piece failed.
 */
export async function runHardeningCheck(
  name: CheckName,
  build: BuildTarget,
  options: HardeningOptions = {},
): Promise<CheckResult> {
  return runOne(name, build, normalizeOptions({ ...options, checks: [name] }));
}

/**
 * Runs every selected check (each against its own fresh target) and returns their verdicts.
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
  const results: CheckResult[] = [];
  for (const name of normalized.checks) results.push(await runOne(name, build, normalized));
  return results;
}

/** The message a failed check is reported with. */
export function formatResult(result: CheckResult): string {
  return [
    `hardening check "${result.check}" failed:`,
    ...result.failures.map((failure) => `  - ${failure}`),
  ].join('\n');
}
