import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { type Check, type CheckContext, injectUnshed } from './check-context.ts';
import { auditCheck } from './checks/audit.ts';
import { authCheck } from './checks/auth.ts';
import { badInputCheck } from './checks/bad-input.ts';
import { canarySecretCheck } from './checks/canary-secret.ts';
import { metricsCheck } from './checks/metrics.ts';
import { protocolCheck } from './checks/protocol.ts';
import { rateLimitCheck } from './checks/rate-limit.ts';
import { readinessCheck } from './checks/readiness.ts';
import { schemaSweepCheck } from './checks/schema-sweep.ts';
import { securityHeadersCheck } from './checks/security-headers.ts';
import { traceContextCheck } from './checks/trace-context.ts';
import { createErrorBodyWatch } from './error-body.ts';
import { TestingError } from './errors.ts';
import { createLogCapture, type LogCapture } from './log-capture.ts';
import type { BuildTarget, CheckName, HardeningIo, HardeningTarget, NormalizedOptions } from './options.ts';
import { captureRoutes, type RouteRecord } from './route-table.ts';
import { planTargets } from './target-plan.ts';

/** One check's verdict: every failure names the route or piece that broke. */
export interface CheckResult {
  check: CheckName;
  ok: boolean;
  failures: string[];
  notes: string[];
  /**
   * What the check could not prove for lack of a seam or an option (describeHardening prints each as a
   * `KIT NOT CHECKED:` line; with `failOnNotChecked` each is a failure too).
   */
  notChecked: string[];
  durationMs: number;
  /** The checks that ran before this one on the same built target (none with `isolateChecks`). */
  sharedWith: CheckName[];
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
  protocol: protocolCheck,
};

/** A canary shaped like a real API key, so pattern-based redaction is exercised as well as named fields. */
function newCanary(): string {
  return `rk_canary_${randomBytes(8).toString('hex')}_${randomBytes(22).toString('hex')}`;
}

interface Built {
  target: HardeningTarget;
  routes: RouteRecord[];
}

async function buildOnce(build: BuildTarget, io: HardeningIo): Promise<Built> {
  const { value: target, routes } = await captureRoutes(
    () => build(io),
    (value) => value?.app,
  );
  if (!target || typeof target.app?.inject !== 'function')
    throw new TestingError('RAMPART_TESTING_TARGET_INVALID', { detail: 'app must be a Fastify instance' });
  if (typeof target.apiKey !== 'string' || target.apiKey.length === 0)
    throw new TestingError('RAMPART_TESTING_TARGET_INVALID', { detail: 'apiKey must be a non-empty string' });
  const limited = target.limitedApiKey;
  if (
    limited !== undefined &&
    (typeof limited?.key !== 'string' ||
      limited.key.length === 0 ||
      !Array.isArray(limited.scopes) ||
      !limited.scopes.every((scope) => typeof scope === 'string'))
  )
    throw new TestingError('RAMPART_TESTING_TARGET_INVALID', {
      detail: 'limitedApiKey must be { key: non-empty string, scopes: string[] }',
    });
  if (
    target.writeSamples !== undefined &&
    (typeof target.writeSamples !== 'object' || target.writeSamples === null)
  )
    throw new TestingError('RAMPART_TESTING_TARGET_INVALID', {
      detail: "writeSamples must be an object keyed by 'METHOD /path'",
    });
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

/** One built target and the checks planned on it; built at its first check, released after its last. */
interface TargetSlot {
  readonly checks: readonly CheckName[];
  /** How many of its checks have run (it is released after the last). */
  ran: number;
  /** The checks that have run on the target as built now (a rebuild starts it again). */
  onTarget: CheckName[];
  io?: HardeningIo & { logs: LogCapture };
  built?: Built;
}

/** Checks run one at a time against targets shared as `planTargets` says. */
export interface HardeningRun {
  /** Every selected check, in the order it must run. */
  readonly order: readonly CheckName[];
  /** Runs one check (building its target first if needed); a failure is a verdict, never a throw. */
  run(name: CheckName): Promise<CheckResult>;
  /** Releases any target still open (a test filter may skip a target's last check). */
  close(): Promise<void>;
}

export function createHardeningRun(build: BuildTarget, options: NormalizedOptions): HardeningRun {
  const slots: TargetSlot[] = planTargets(options.checks, options.isolateChecks).map((checks) => ({
    checks,
    ran: 0,
    onTarget: [],
  }));
  const slotOf = (name: CheckName) => {
    const slot = slots.find((candidate) => candidate.checks.includes(name));
    if (!slot)
      throw new TestingError('RAMPART_TESTING_OPTIONS_INVALID', { detail: `${name} is not selected` });
    return slot;
  };
  const closeSlot = async (slot: TargetSlot) => {
    const built = slot.built;
    slot.built = undefined;
    if (built) await release(built.target);
  };

  async function run(name: CheckName): Promise<CheckResult> {
    const started = performance.now();
    const slot = slotOf(name);
    slot.ran += 1;
    if (!slot.io) {
      const logs = createLogCapture();
      slot.io = { logStream: logs.stream, canary: newCanary(), logs };
    }
    const io = slot.io;
    // A build that fails is not a verdict on a check: it throws, as the build function's own error would.
    if (!slot.built) {
      slot.onTarget = [];
      slot.built = await buildOnce(build, io);
    }
    let built: Built = slot.built;
    const sharedWith = [...slot.onTarget];
    slot.onTarget.push(name);
    const failures: string[] = [];
    const notes: string[] = [];
    const notChecked: string[] = [];
    // Every error answer this check provokes is read for a stack, a path, an internal field or a bad shape.
    const errorBodies = createErrorBodyWatch({
      infrastructurePaths: options.infrastructurePaths,
      problemExtensions: options.problemExtensions,
      secrets: [io.canary],
    });
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
      logs: io.logs,
      canary: io.canary,
      inject: async (request) => {
        const response = await injectUnshed(built.target.app, request);
        errorBodies.inspect(request, response);
        return response;
      },
      options,
      async rebuild() {
        slot.built = undefined;
        await release(built.target);
        built = await buildOnce(build, io);
        slot.built = built;
        slot.onTarget = [name];
      },
      fail: (message) => failures.push(message),
      note: (message) => notes.push(message),
      notChecked: (message) => notChecked.push(message),
    };
    let crashed = false;
    try {
      await CHECKS[name](context);
    } catch (error) {
      crashed = true;
      failures.push(`${name}: the check could not run: ${(error as Error).message}`);
    } finally {
      // The target's last check releases it; so does a check that crashed, leaving it in an unknown state
      // (the next check on it gets a fresh build).
      if (crashed || slot.ran >= slot.checks.length) await closeSlot(slot);
    }
    failures.push(...errorBodies.failures());
    if (errorBodies.inspected > 0) notes.push(`${errorBodies.inspected} error answer(s) inspected`);
    if (options.failOnNotChecked)
      failures.push(...notChecked.map((line) => `not checked (failOnNotChecked): ${line}`));
    if (sharedWith.length > 0) notes.push(`ran on the target ${sharedWith.join(', ')} ran on before it`);
    return {
      check: name,
      ok: failures.length === 0,
      failures,
      notes,
      notChecked,
      durationMs: performance.now() - started,
      sharedWith,
    };
  }

  return {
    order: slots.flatMap((slot) => slot.checks),
    run,
    async close() {
      for (const slot of slots) await closeSlot(slot);
    },
  };
}
