import { invalidOptions, type ResilienceErrorCode } from './errors.ts';

/** One readiness check: resolves when the dependency answers, rejects (or outlives its timeout) when not. */
export interface HealthCheck {
  name: string;
  /** Defaults to the health's `defaultTimeoutMs`. */
  timeoutMs?: number;
  check(signal: AbortSignal): Promise<void>;
}

/** Anything with a name and a breaker state: a `Policy` from `createPolicy` fits. */
export interface BreakerSource {
  readonly name: string;
  readonly breakerState: string;
}

export interface HealthOptions {
  version: string;
  commit: string;
  checks?: HealthCheck[];
  defaultTimeoutMs?: number;
  /** Policies whose breaker states readiness reports (reported only: see the README for why). */
  policies?: BreakerSource[];
  /** Readiness answers 503 as soon as this turns true (a `Shutdown`'s `isShuttingDown`). */
  isShuttingDown?: () => boolean;
}

export interface CheckResult {
  status: 'ok' | 'fail';
  durationMs: number;
  code?: ResilienceErrorCode;
  /** The failure's own code (ECONNREFUSED, ...) when it has one; never its message, which may leak internals. */
  reason?: string;
}

export interface LiveReport {
  statusCode: 200;
  body: { status: 'ok'; version: string; commit: string };
}

export interface ReadyReport {
  statusCode: 200 | 503;
  body: {
    status: 'ready' | 'not-ready' | 'shutting-down';
    version: string;
    commit: string;
    checks: Record<string, CheckResult>;
    breakers: Record<string, string>;
  };
}

export interface Health {
  /** The process is up and its event loop turns: no I/O, so it stays cheap and true under dependency outages. */
  live(): LiveReport;
  /** Runs every check at once, each under its own timeout; concurrent callers share one run. */
  ready(): Promise<ReadyReport>;
  /** What the `isShuttingDown` option says now (the Fastify plugin closes connections after each response then). */
  isShuttingDown(): boolean;
}

export const HEALTH_DEFAULTS = { defaultTimeoutMs: 1_000 } as const;

async function runCheck(check: HealthCheck, timeoutMs: number): Promise<CheckResult> {
  const started = performance.now();
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  // Racing the timer means a check that ignores its signal still cannot hold readiness hostage.
  const expired = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => {
      controller.abort();
      resolve('timeout');
    }, timeoutMs);
    timer.unref();
  });
  try {
    const outcome = await Promise.race([check.check(controller.signal).then(() => 'ok' as const), expired]);
    const durationMs = performance.now() - started;
    if (outcome === 'ok') return { status: 'ok', durationMs };
    return { status: 'fail', durationMs, code: 'RAMPART_RESILIENCE_CHECK_TIMEOUT' };
  } catch (error) {
    const reason = (error as { code?: unknown } | null)?.code;
    return {
      status: 'fail',
      durationMs: performance.now() - started,
      code: 'RAMPART_RESILIENCE_CHECK_FAILED',
      ...(typeof reason === 'string' ? { reason } : {}),
    };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Liveness and readiness from plain check functions.
 *
 * @example
 * const health = createHealth({ version: '1.2.0', commit: 'abc123', checks: [pgCheck('db', pool)] });
 * const { statusCode, body } = await health.ready();
 */
export function createHealth(options: HealthOptions): Health {
  const defaultTimeoutMs = options.defaultTimeoutMs ?? HEALTH_DEFAULTS.defaultTimeoutMs;
  if (typeof options.version !== 'string' || typeof options.commit !== 'string')
    throw invalidOptions('health needs version and commit strings');
  const checks = options.checks ?? [];
  const names = new Set<string>();
  for (const check of [defaultTimeoutMs, ...checks.map((c) => c.timeoutMs)]) {
    if (typeof check === 'number' && !(Number.isFinite(check) && check > 0))
      throw invalidOptions(`check timeouts must be positive numbers, got ${check}`);
  }
  for (const check of checks) {
    if (typeof check.name !== 'string' || check.name.length === 0 || typeof check.check !== 'function')
      throw invalidOptions('each health check needs a name and a check function');
    if (names.has(check.name)) throw invalidOptions(`duplicate health check name "${check.name}"`);
    names.add(check.name);
  }
  const { version, commit } = options;
  const shuttingDown = options.isShuttingDown ?? (() => false);
  const breakers = (): Record<string, string> =>
    Object.fromEntries((options.policies ?? []).map((policy) => [policy.name, policy.breakerState]));

  let inflight: Promise<ReadyReport> | undefined;
  const evaluate = async (): Promise<ReadyReport> => {
    const results = await Promise.all(
      checks.map((check) => runCheck(check, check.timeoutMs ?? defaultTimeoutMs)),
    );
    const byName = Object.fromEntries(checks.map((check, i) => [check.name, results[i] as CheckResult]));
    // Shutdown may have begun while the checks ran: it wins.
    if (shuttingDown()) return shuttingDownReport(byName);
    const ok = results.every((result) => result.status === 'ok');
    return {
      statusCode: ok ? 200 : 503,
      body: { status: ok ? 'ready' : 'not-ready', version, commit, checks: byName, breakers: breakers() },
    };
  };
  const shuttingDownReport = (checkResults: Record<string, CheckResult>): ReadyReport => ({
    statusCode: 503,
    body: { status: 'shutting-down', version, commit, checks: checkResults, breakers: breakers() },
  });

  return {
    isShuttingDown: shuttingDown,
    live: () => ({ statusCode: 200, body: { status: 'ok', version, commit } }),
    ready() {
      if (shuttingDown()) return Promise.resolve(shuttingDownReport({}));
      inflight ??= evaluate().finally(() => {
        inflight = undefined;
      });
      return inflight;
    },
  };
}

/** A readiness check that runs `SELECT 1` on a pg Pool or Client (or anything with the same `query`). */
export function pgCheck(
  name: string,
  client: { query(sql: string): Promise<unknown> },
  timeoutMs?: number,
): HealthCheck {
  return {
    name,
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    check: async () => {
      await client.query('SELECT 1');
    },
  };
}

/** A readiness check that sends PING to Redis through an ioredis client (or anything with `ping()`). */
export function redisCheck(
  name: string,
  client: { ping(): Promise<unknown> },
  timeoutMs?: number,
): HealthCheck {
  return {
    name,
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    check: async () => {
      await client.ping();
    },
  };
}
