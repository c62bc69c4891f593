import {
  type BulkheadPolicy,
  type CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  bulkhead as cockatielBulkhead,
  retry as cockatielRetry,
  timeout as cockatielTimeout,
  handleWhen,
  isBrokenCircuitError,
  isBulkheadRejectedError,
  isIsolatedCircuitError,
  isTaskCancelledError,
  type RetryPolicy,
  type TimeoutPolicy,
  TimeoutStrategy,
} from 'cockatiel';
import { createJitterBackoff } from './backoff.ts';
import { invalidOptions, isResilienceError, ResilienceError } from './errors.ts';
import type { PolicyEvent, PolicyObserver } from './observer.ts';
import { createRetryBudget, type RetryBudgetOptions } from './retry-budget.ts';

export type BreakerState = 'closed' | 'open' | 'half-open' | 'isolated';

export interface RetryOptions {
  /** Retries after the first attempt. */
  maxRetries?: number;
  /** Backoff before the first retry (before full jitter); doubles per retry. */
  baseDelayMs?: number;
  /** Cap on any single backoff delay. */
  maxDelayMs?: number;
  /** Which failures are worth another attempt. Default: timeouts, network errors, errors with `retryable: true`. */
  retryOn?: (error: unknown) => boolean;
  /** Share of traffic retries may add, or false for no budget. */
  budget?: RetryBudgetOptions | false;
}

export interface BreakerOptions {
  /** Consecutive failures that open the breaker. */
  consecutiveFailures?: number;
  /** How long the breaker stays open before one probe call is let through. */
  halfOpenAfterMs?: number;
  /** Which failures count against the breaker. Default: all but caller aborts and `breakerIgnores: true` errors. */
  failureOn?: (error: unknown) => boolean;
}

export interface BulkheadOptions {
  /** Calls running at once. */
  limit: number;
  /** Calls waiting for a slot; more are rejected at once. */
  queue?: number;
}

export interface PolicyOptions {
  /** Names the dependency in events, health and errors ("payments-api", "postgres"). */
  name: string;
  /** Time one attempt may take; its AbortSignal is aborted when it runs out. */
  attemptTimeoutMs?: number;
  /** Default total time for a call across attempts and backoff; a call may pass its own. */
  deadlineMs?: number;
  retry?: RetryOptions | false;
  breaker?: BreakerOptions | false;
  bulkhead?: BulkheadOptions | false;
  observer?: PolicyObserver;
}

export interface AttemptContext {
  /** Aborted when the attempt times out, the deadline passes or the caller aborts. */
  signal: AbortSignal;
  /** 0 for the first attempt. */
  attempt: number;
  /** When this attempt gives up (epoch ms): the earlier of its timeout and the call's deadline. */
  deadline: number;
}

export interface CallOptions<T> {
  /** The caller's own cancellation (an incoming request's signal, for example). */
  signal?: AbortSignal;
  /** Total time this call may take; overrides the policy's `deadlineMs`. */
  deadlineMs?: number;
  /** False for work that must not run twice (a POST without an idempotency key): no retries. */
  idempotent?: boolean;
  /** Answer with this instead of failing (stale data, a default); receives the final error. */
  fallback?: (error: unknown) => T | Promise<T>;
}

/** A named policy for one dependency: bulkhead, retry, circuit breaker and per-attempt timeout, composed. */
export interface Policy {
  readonly name: string;
  readonly breakerState: BreakerState;
  execute<T>(fn: (context: AttemptContext) => T | PromiseLike<T>, options?: CallOptions<T>): Promise<T>;
  /** The cockatiel policies themselves, for anything this interface does not cover (isolate(), toJSON()). */
  readonly cockatiel: {
    readonly retry: RetryPolicy | undefined;
    readonly breaker: CircuitBreakerPolicy | undefined;
    readonly bulkhead: BulkheadPolicy | undefined;
    readonly timeout: TimeoutPolicy;
  };
  /** Stops reporting events (the policies keep working). */
  dispose(): void;
}

export const POLICY_DEFAULTS = {
  attemptTimeoutMs: 2_000,
  retry: { maxRetries: 2, baseDelayMs: 100, maxDelayMs: 2_000 },
  breaker: { consecutiveFailures: 5, halfOpenAfterMs: 10_000 },
} as const;

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

/** The default `retryOn`: transient failures only. */
export function isTransient(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const retryable = (error as { retryable?: unknown }).retryable;
  if (typeof retryable === 'boolean') return retryable;
  if (isResilienceError(error, 'RAMPART_RESILIENCE_TIMEOUT')) return true;
  if (isResilienceError(error, 'RAMPART_RESILIENCE_UPSTREAM_UNREACHABLE')) return true;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && NETWORK_CODES.has(code);
}

function defaultFailureOn(error: unknown): boolean {
  if (isResilienceError(error, 'RAMPART_RESILIENCE_ABORTED')) return false;
  if (isResilienceError(error, 'RAMPART_RESILIENCE_DEADLINE_EXCEEDED')) return false;
  return (error as { breakerIgnores?: unknown } | null)?.breakerIgnores !== true;
}

const STATE_NAMES: Record<CircuitState, BreakerState> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half-open',
  [CircuitState.Isolated]: 'isolated',
};

const positive = (value: number | undefined, what: string, integer = false): void => {
  if (value === undefined) return;
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value)))
    throw invalidOptions(`${what} must be a positive ${integer ? 'integer' : 'number'}, got ${value}`);
};

// Per-call deadlines, keyed by the signal cockatiel hands to the backoff, so a backoff never sleeps past one.
const deadlines = new WeakMap<AbortSignal, number>();
const remainingMs = (signal: AbortSignal): number => {
  const deadline = deadlines.get(signal);
  return deadline === undefined ? Number.POSITIVE_INFINITY : Math.max(0, deadline - Date.now());
};

/**
 * Creates the named policy for one dependency. Share it: the breaker and bulkhead only work when every
 * call to the dependency goes through the same instance.
 *
 * @example
 * const payments = createPolicy({ name: 'payments', attemptTimeoutMs: 1_000, deadlineMs: 3_000 });
 * const receipt = await payments.execute(({ signal }) => fetch(url, { signal }).then((r) => r.json()));
 */
export function createPolicy(options: PolicyOptions): Policy {
  if (typeof options?.name !== 'string' || options.name.length === 0)
    throw invalidOptions('name must be a non-empty string');
  const name = options.name;
  const attemptTimeoutMs = options.attemptTimeoutMs ?? POLICY_DEFAULTS.attemptTimeoutMs;
  positive(attemptTimeoutMs, 'attemptTimeoutMs');
  positive(options.deadlineMs, 'deadlineMs');
  const observer = options.observer;
  const emit = (kind: PolicyEvent['kind'], durationMs?: number): void => {
    if (!observer) return;
    try {
      observer.onEvent(
        durationMs === undefined ? { policy: name, kind } : { policy: name, kind, durationMs },
      );
    } catch {
      // An observer that throws must not turn a good call into a failed one.
    }
  };
  const subscriptions: Array<{ dispose(): void }> = [];

  const timeout = cockatielTimeout(attemptTimeoutMs, TimeoutStrategy.Aggressive);

  let breaker: CircuitBreakerPolicy | undefined;
  if (options.breaker !== false) {
    const settings = { ...POLICY_DEFAULTS.breaker, ...options.breaker };
    positive(settings.consecutiveFailures, 'breaker.consecutiveFailures', true);
    positive(settings.halfOpenAfterMs, 'breaker.halfOpenAfterMs');
    breaker = circuitBreaker(handleWhen(options.breaker?.failureOn ?? defaultFailureOn), {
      breaker: new ConsecutiveBreaker(settings.consecutiveFailures),
      halfOpenAfter: settings.halfOpenAfterMs,
    });
    subscriptions.push(
      breaker.onStateChange((state) => {
        if (state === CircuitState.Open || state === CircuitState.Isolated) emit('breaker-open');
        else if (state === CircuitState.HalfOpen) emit('breaker-half-open');
        else emit('breaker-closed');
      }),
    );
  }

  let retry: RetryPolicy | undefined;
  let budget: ReturnType<typeof createRetryBudget> | undefined;
  if (options.retry !== false) {
    const settings = { ...POLICY_DEFAULTS.retry, ...options.retry };
    if (!Number.isInteger(settings.maxRetries) || settings.maxRetries < 0)
      throw invalidOptions(`retry.maxRetries must be an integer >= 0, got ${settings.maxRetries}`);
    positive(settings.baseDelayMs, 'retry.baseDelayMs');
    positive(settings.maxDelayMs, 'retry.maxDelayMs');
    budget =
      options.retry && options.retry.budget === false
        ? undefined
        : createRetryBudget(options.retry ? options.retry.budget || {} : {});
    const retryOn = options.retry ? (options.retry.retryOn ?? isTransient) : isTransient;
    const allowed = budget;
    retry = cockatielRetry(
      handleWhen((error) => retryOn(error) && (allowed === undefined || allowed.canRetry())),
      {
        maxAttempts: settings.maxRetries,
        backoff: createJitterBackoff(
          { baseMs: settings.baseDelayMs, maxMs: settings.maxDelayMs },
          remainingMs,
        ),
      },
    );
    subscriptions.push(
      retry.onRetry(() => {
        allowed?.recordRetry();
        emit('retry');
      }),
    );
  }

  let bulkhead: BulkheadPolicy | undefined;
  if (options.bulkhead) {
    positive(options.bulkhead.limit, 'bulkhead.limit', true);
    const queue = options.bulkhead.queue ?? 0;
    if (!Number.isInteger(queue) || queue < 0)
      throw invalidOptions(`bulkhead.queue must be an integer >= 0, got ${queue}`);
    bulkhead = cockatielBulkhead(options.bulkhead.limit, queue);
    subscriptions.push(bulkhead.onReject(() => emit('bulkhead-rejected')));
  }

  async function run<T>(
    fn: (context: AttemptContext) => T | PromiseLike<T>,
    options: CallOptions<T>,
  ): Promise<T> {
    const caller = options.signal;
    if (caller?.aborted)
      throw new ResilienceError('RAMPART_RESILIENCE_ABORTED', name, { cause: caller.reason });
    const deadlineMs = options.deadlineMs ?? policyDeadline;
    positive(deadlineMs, 'deadlineMs');

    // One controller per call joins the caller's signal and the deadline; every listener is removed at the end.
    const call = new AbortController();
    let deadlineHit = false;
    let timer: NodeJS.Timeout | undefined;
    const onCallerAbort = (): void => call.abort(caller?.reason);
    caller?.addEventListener('abort', onCallerAbort, { once: true });
    if (deadlineMs !== undefined) {
      deadlines.set(call.signal, Date.now() + deadlineMs);
      timer = setTimeout(() => {
        deadlineHit = true;
        call.abort();
      }, deadlineMs);
      timer.unref();
    }

    const classify = (error: unknown): unknown => {
      if (isResilienceError(error)) return error;
      if (deadlineHit)
        return new ResilienceError('RAMPART_RESILIENCE_DEADLINE_EXCEEDED', `${name} after ${deadlineMs}ms`, {
          cause: error,
        });
      if (caller?.aborted) return new ResilienceError('RAMPART_RESILIENCE_ABORTED', name, { cause: error });
      if (isTaskCancelledError(error))
        return new ResilienceError(
          'RAMPART_RESILIENCE_TIMEOUT',
          `${name} attempt exceeded ${attemptTimeoutMs}ms`,
          { cause: error },
        );
      if (isBrokenCircuitError(error) || isIsolatedCircuitError(error))
        return new ResilienceError('RAMPART_RESILIENCE_CIRCUIT_OPEN', name, { cause: error });
      if (isBulkheadRejectedError(error))
        return new ResilienceError('RAMPART_RESILIENCE_BULKHEAD_FULL', name, { cause: error });
      return error;
    };

    let attempt = 0;
    const oneAttempt = async (signal: AbortSignal): Promise<T> => {
      const current = attempt++;
      try {
        return await timeout.execute(({ signal: attemptSignal }) => {
          if (attemptSignal.aborted) throw attemptSignal.reason;
          const attemptEnds = Date.now() + attemptTimeoutMs;
          const callEnds = deadlines.get(call.signal) ?? attemptEnds;
          return fn({ signal: attemptSignal, attempt: current, deadline: Math.min(attemptEnds, callEnds) });
        }, signal);
      } catch (error) {
        const classified = classify(error);
        if (
          isResilienceError(classified, 'RAMPART_RESILIENCE_TIMEOUT') ||
          isResilienceError(classified, 'RAMPART_RESILIENCE_DEADLINE_EXCEEDED')
        )
          emit('timeout');
        throw classified;
      }
    };
    const guarded = breaker
      ? (signal: AbortSignal) => breaker.execute(({ signal: inner }) => oneAttempt(inner), signal)
      : oneAttempt;
    const retried =
      retry && options.idempotent !== false
        ? (signal: AbortSignal) => retry.execute(({ signal: inner }) => guarded(inner), signal)
        : guarded;
    const isolated = bulkhead
      ? (signal: AbortSignal) => bulkhead.execute(({ signal: inner }) => retried(inner), signal)
      : retried;

    // cockatiel sleeps between retries without watching the signal: racing the call's own signal answers the
    // caller at the moment it aborts or the deadline passes, not after a backoff (or a long Retry-After) ends.
    // The abandoned loop then stops at its next attempt, which sees the aborted signal.
    let onCallAbort: (() => void) | undefined;
    const stopped = new Promise<never>((_resolve, reject) => {
      onCallAbort = () => reject(call.signal.reason);
      call.signal.addEventListener('abort', onCallAbort, { once: true });
    });
    const work = isolated(call.signal);
    work.catch(() => {}); // when `stopped` wins, the loop's late rejection is the same failure
    try {
      return await Promise.race([work, stopped]);
    } catch (error) {
      throw classify(error);
    } finally {
      if (timer) clearTimeout(timer);
      caller?.removeEventListener('abort', onCallerAbort);
      if (onCallAbort) call.signal.removeEventListener('abort', onCallAbort);
      deadlines.delete(call.signal);
    }
  }

  const policyDeadline = options.deadlineMs;

  return {
    name,
    get breakerState(): BreakerState {
      return breaker ? STATE_NAMES[breaker.state] : 'closed';
    },
    async execute<T>(
      fn: (context: AttemptContext) => T | PromiseLike<T>,
      callOptions: CallOptions<T> = {},
    ): Promise<T> {
      emit('call');
      budget?.recordCall();
      const started = performance.now();
      try {
        const value = await run(fn, callOptions);
        emit('success', performance.now() - started);
        return value;
      } catch (error) {
        emit('failure', performance.now() - started);
        if (callOptions.fallback && !isResilienceError(error, 'RAMPART_RESILIENCE_ABORTED')) {
          emit('fallback');
          return callOptions.fallback(error);
        }
        throw error;
      }
    },
    cockatiel: { retry, breaker, bulkhead, timeout },
    dispose() {
      for (const subscription of subscriptions.splice(0)) subscription.dispose();
    },
  };
}
