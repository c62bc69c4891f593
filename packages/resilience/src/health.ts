import { invalidOptions, type ResilienceErrorCode } from './errors.ts';
import { duration, isRecord, optionalDuration, optionalFunction, shown } from './validate.ts';

/** One readiness check: resolves when the dependency answers, rejects (or outlives its timeout) when not. */
export interface HealthCheck {
  name: string;
  /** Defaults to the health's `defaultTimeoutMs`. */
  timeoutMs?: number;
  /**
   * Default true: a failure makes readiness 503. False: the result is reported (`critical: false` in the
   * body) but readiness stays 200, for a dependency the service can serve without (a rate-limit store that
   * fails open): taking every instance out of the load balancer for it would turn a degraded service into
   * an outage.
   */
  critical?: boolean;
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
  /** Present (false) for a check that does not gate readiness. */
  critical?: false;
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
  // Racing the timer means a check that ignores its signal still cannot hold readiness hostage. Not unref()'d:
  // a one-shot script awaiting ready() gets the timeout's report even when nothing else keeps the loop alive
  // (the timer lives only while a check is pending).
  const expired = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => {
      controller.abort();
      resolve('timeout');
    }, timeoutMs);
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
  if (!isRecord(options)) throw invalidOptions('createHealth needs an options object');
  if (typeof options.version !== 'string' || typeof options.commit !== 'string')
    throw invalidOptions('health needs version and commit strings');
  const defaultTimeoutMs = duration(
    options.defaultTimeoutMs,
    'defaultTimeoutMs',
    HEALTH_DEFAULTS.defaultTimeoutMs,
  );
  if (options.checks !== undefined && !Array.isArray(options.checks))
    throw invalidOptions(`checks must be an array, got ${shown(options.checks)}`);
  // A copy: a check pushed onto the caller's array later would skip these checks.
  const checks = [...(options.checks ?? [])];
  const names = new Set<string>();
  for (const check of checks) {
    if (
      !isRecord(check) ||
      typeof check.name !== 'string' ||
      check.name.length === 0 ||
      typeof check.check !== 'function'
    )
      throw invalidOptions('each health check needs a name and a check function');
    optionalDuration(check.timeoutMs, `check "${check.name}" timeoutMs`);
    if (check.critical !== undefined && typeof check.critical !== 'boolean')
      throw invalidOptions(`check "${check.name}" critical must be a boolean, got ${shown(check.critical)}`);
    if (names.has(check.name)) throw invalidOptions(`duplicate health check name "${check.name}"`);
    names.add(check.name);
  }
  if (
    options.policies !== undefined &&
    (!Array.isArray(options.policies) ||
      !options.policies.every((policy) => typeof policy?.name === 'string'))
  )
    throw invalidOptions('policies must be an array of policies from createPolicy()');
  const policies = [...(options.policies ?? [])];
  optionalFunction(options.isShuttingDown, 'isShuttingDown');
  const { version, commit } = options;
  const shuttingDown = options.isShuttingDown ?? (() => false);
  const breakers = (): Record<string, string> =>
    Object.fromEntries(policies.map((policy) => [policy.name, policy.breakerState]));

  let inflight: Promise<ReadyReport> | undefined;
  const evaluate = async (): Promise<ReadyReport> => {
    const results = await Promise.all(
      checks.map(async (check) => {
        const result = await runCheck(check, check.timeoutMs ?? defaultTimeoutMs);
        return check.critical === false ? { ...result, critical: false as const } : result;
      }),
    );
    const byName = Object.fromEntries(checks.map((check, i) => [check.name, results[i] as CheckResult]));
    // Shutdown may have begun while the checks ran: it wins.
    if (shuttingDown()) return shuttingDownReport(byName);
    const ok = results.every((result) => result.status === 'ok' || result.critical === false);
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

/**
 * One query in flight per check at most. pg and ioredis take no AbortSignal: a query or PING stuck behind a
 * black-holed connection (or a pool's queue) cannot be cancelled, only left to settle. A probe that starts
 * while the previous one is still pending shares it instead of queueing another behind it, so a readiness
 * probe every few seconds cannot pile waiters into the pool ahead of the application's own queries.
 */
function singleFlight(name: string, timeoutMs: number | undefined, run: () => Promise<unknown>): HealthCheck {
  let pending: Promise<void> | undefined;
  return {
    name,
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    check: (signal) => {
      if (signal.aborted) return Promise.reject(signal.reason);
      if (!pending) {
        const current = (async () => {
          await run();
        })();
        const clear = (): void => {
          if (pending === current) pending = undefined;
        };
        current.then(clear, clear);
        pending = current;
      }
      return pending;
    },
  };
}

function checkArguments(kind: string, name: unknown, client: unknown, method: string, timeoutMs: unknown) {
  if (typeof name !== 'string' || name.length === 0) throw invalidOptions(`${kind} needs a non-empty name`);
  if (typeof (client as Record<string, unknown> | null)?.[method] !== 'function')
    throw invalidOptions(`${kind}("${name}") needs a client with ${method}()`);
  return optionalDuration(timeoutMs, `${kind}("${name}") timeoutMs`);
}

/**
 * A readiness check that runs `SELECT 1` on a pg Pool or Client (or anything with the same `query`). pg cannot
 * cancel a query from a signal: give the pool `connectionTimeoutMillis` (and the server a `statement_timeout`)
 * so a stuck one ends; until it does, later probes share it rather than queue more (see singleFlight).
 */
export function pgCheck(
  name: string,
  client: { query(sql: string): Promise<unknown> },
  timeoutMs?: number,
): HealthCheck {
  const ms = checkArguments('pgCheck', name, client, 'query', timeoutMs);
  return singleFlight(name, ms, () => client.query('SELECT 1'));
}

/**
 * A readiness check that sends PING to Redis through an ioredis client (or anything with `ping()`). ioredis
 * cannot cancel a command either: one PING in flight at most, later probes share it.
 */
export function redisCheck(
  name: string,
  client: { ping(): Promise<unknown> },
  timeoutMs?: number,
): HealthCheck {
  const ms = checkArguments('redisCheck', name, client, 'ping', timeoutMs);
  return singleFlight(name, ms, () => client.ping());
}
