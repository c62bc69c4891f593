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
  type IBackoff,
  type IRetryBackoffContext,
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
import {
  duration,
  integer,
  isRecord,
  isSignal,
  MAX_TIMER_MS,
  optionalDuration,
  optionalFunction,
  section,
  shown,
} from './validate.ts';

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

/** No probe failure pending (a unique value no thrown error can be). */
const NO_ERROR = Symbol('no error');

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

// Per-call deadlines, keyed by the signal cockatiel hands to the backoff, so a backoff never sleeps past one.
const deadlines = new WeakMap<AbortSignal, number>();
const remainingMs = (signal: AbortSignal): number => {
  const deadline = deadlines.get(signal);
  return deadline === undefined ? Number.POSITIVE_INFINITY : Math.max(0, deadline - Date.now());
};

// The backoff before a call's next attempt, keyed like `deadlines`. cockatiel's own sleep between retries does
// not watch the signal (an aborted call would keep its bulkhead slot until it ended), so cockatiel is told to
// wait 0 ms and the policy sleeps here instead, on a timer the call's signal clears.
const backoffs = new WeakMap<AbortSignal, number>();

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Records the delay a cockatiel backoff asks for in `backoffs`, and tells cockatiel to wait 0 ms. */
function deferTo(backoff: IBackoff<IRetryBackoffContext<unknown>>, signal: AbortSignal) {
  backoffs.set(signal, backoff.duration);
  const deferred: IBackoff<IRetryBackoffContext<unknown>> = {
    duration: 0,
    next: (context) => deferTo(backoff.next(context), context.signal),
  };
  return deferred;
}

const retryAfterOfError = (error: unknown): number | undefined => {
  const value = (error as { retryAfterMs?: unknown } | null | undefined)?.retryAfterMs;
  return typeof value === 'number' && value >= 0 ? value : undefined;
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
  if (!isRecord(options)) throw invalidOptions('createPolicy needs an options object');
  if (typeof options.name !== 'string' || options.name.length === 0)
    throw invalidOptions('name must be a non-empty string');
  const name = options.name;
  const attemptTimeoutMs = duration(
    options.attemptTimeoutMs,
    'attemptTimeoutMs',
    POLICY_DEFAULTS.attemptTimeoutMs,
  );
  const policyDeadline = optionalDuration(options.deadlineMs, 'deadlineMs');
  const observer = options.observer;
  if (observer !== undefined && typeof (observer as { onEvent?: unknown } | null)?.onEvent !== 'function')
    throw invalidOptions('observer must be { onEvent(event) }');
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
  // The half-open probe's failure, whatever it was: see the breaker's filter below.
  let probeError: unknown = NO_ERROR;
  const breakerOptions = section<BreakerOptions>(
    options.breaker,
    'breaker',
    '{ consecutiveFailures?, halfOpenAfterMs?, failureOn? }',
  );
  if (breakerOptions !== false) {
    const consecutiveFailures = integer(
      breakerOptions?.consecutiveFailures,
      'breaker.consecutiveFailures',
      POLICY_DEFAULTS.breaker.consecutiveFailures,
      1,
    );
    const halfOpenAfterMs = duration(
      breakerOptions?.halfOpenAfterMs,
      'breaker.halfOpenAfterMs',
      POLICY_DEFAULTS.breaker.halfOpenAfterMs,
    );
    const failureOn =
      optionalFunction<(error: unknown) => boolean>(breakerOptions?.failureOn, 'breaker.failureOn') ??
      defaultFailureOn;
    // cockatiel counts a half-open probe that fails with an error the filter does not handle as a success, and
    // closes the breaker: a probe the caller abandoned, that ran out of deadline or was answered 429 would
    // release every waiting caller against a dependency that never answered. While half-open, every error of
    // the probe counts; only a success closes the breaker.
    breaker = circuitBreaker(
      handleWhen((error) => {
        if (error === probeError) {
          probeError = NO_ERROR;
          return true;
        }
        return failureOn(error);
      }),
      {
        breaker: new ConsecutiveBreaker(consecutiveFailures),
        halfOpenAfter: halfOpenAfterMs,
      },
    );
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
  // Failures whose Retry-After is longer than their call has left: retrying could only end at the deadline.
  const tooLate = new WeakSet<object>();
  const retryOptions = section<RetryOptions>(
    options.retry,
    'retry',
    '{ maxRetries?, baseDelayMs?, maxDelayMs?, retryOn?, budget? }',
  );
  if (retryOptions !== false) {
    const maxRetries = integer(
      retryOptions?.maxRetries,
      'retry.maxRetries',
      POLICY_DEFAULTS.retry.maxRetries,
      0,
    );
    const baseDelayMs = duration(
      retryOptions?.baseDelayMs,
      'retry.baseDelayMs',
      POLICY_DEFAULTS.retry.baseDelayMs,
    );
    const maxDelayMs = duration(
      retryOptions?.maxDelayMs,
      'retry.maxDelayMs',
      POLICY_DEFAULTS.retry.maxDelayMs,
    );
    const retryOn =
      optionalFunction<(error: unknown) => boolean>(retryOptions?.retryOn, 'retry.retryOn') ?? isTransient;
    const budgetOptions = section<RetryBudgetOptions>(
      retryOptions?.budget,
      'retry.budget',
      '{ ratio?, minRetries?, windowMs? }',
    );
    budget = budgetOptions === false ? undefined : createRetryBudget(budgetOptions ?? {});
    const allowed = budget;
    const jitter = createJitterBackoff({ baseMs: baseDelayMs, maxMs: maxDelayMs }, remainingMs);
    retry = cockatielRetry(
      handleWhen((error) => {
        if (typeof error === 'object' && error !== null && tooLate.delete(error)) return false;
        return retryOn(error) && (allowed === undefined || allowed.canRetry());
      }),
      {
        maxAttempts: maxRetries,
        backoff: { next: (context) => deferTo(jitter.next(context), context.signal) },
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
  const bulkheadOptions = section<BulkheadOptions>(options.bulkhead, 'bulkhead', '{ limit, queue? }');
  if (bulkheadOptions) {
    if (bulkheadOptions.limit === undefined) throw invalidOptions('bulkhead.limit is required');
    const limit = integer(bulkheadOptions.limit, 'bulkhead.limit', 0, 1);
    const queue = integer(bulkheadOptions.queue, 'bulkhead.queue', 0, 0);
    bulkhead = cockatielBulkhead(limit, queue);
    subscriptions.push(bulkhead.onReject(() => emit('bulkhead-rejected')));
  }

  async function run<T>(
    fn: (context: AttemptContext) => T | PromiseLike<T>,
    options: CallOptions<T>,
    deadlineMs: number | undefined,
  ): Promise<T> {
    const caller = options.signal;
    if (caller?.aborted)
      throw new ResilienceError('RAMPART_RESILIENCE_ABORTED', name, { cause: caller.reason });
    if (deadlineMs !== undefined && deadlineMs <= 0) {
      // A caller passing on its own caller's remaining budget: the time is already up.
      emit('timeout');
      throw new ResilienceError(
        'RAMPART_RESILIENCE_DEADLINE_EXCEEDED',
        `${name}: no time left (${deadlineMs}ms)`,
      );
    }

    // One controller per call joins the caller's signal and the deadline; every listener is removed at the end.
    const call = new AbortController();
    let deadlineHit = false;
    let timer: NodeJS.Timeout | undefined;
    let callEnds: number | undefined;
    const onCallerAbort = (): void => call.abort(caller?.reason);
    caller?.addEventListener('abort', onCallerAbort, { once: true });
    if (deadlineMs !== undefined) {
      callEnds = Date.now() + deadlineMs;
      deadlines.set(call.signal, callEnds);
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

    const retrying = retry !== undefined && options.idempotent !== false;
    let attempt = 0;
    const oneAttempt = async (signal: AbortSignal, probe: boolean): Promise<T> => {
      const current = attempt++;
      try {
        return await timeout.execute(({ signal: attemptSignal }) => {
          if (attemptSignal.aborted) throw attemptSignal.reason;
          const attemptEnds = Date.now() + attemptTimeoutMs;
          return fn({
            signal: attemptSignal,
            attempt: current,
            deadline: callEnds === undefined ? attemptEnds : Math.min(attemptEnds, callEnds),
          });
        }, signal);
      } catch (error) {
        const classified = classify(error);
        if (
          isResilienceError(classified, 'RAMPART_RESILIENCE_TIMEOUT') ||
          isResilienceError(classified, 'RAMPART_RESILIENCE_DEADLINE_EXCEEDED')
        )
          emit('timeout');
        if (probe) probeError = classified;
        if (retrying && callEnds !== undefined) {
          const asked = retryAfterOfError(classified);
          if (asked !== undefined && asked >= callEnds - Date.now()) tooLate.add(classified as object);
        }
        throw classified;
      }
    };
    const guarded = breaker
      ? (signal: AbortSignal) =>
          // The attempt that starts while the breaker is half-open is its one probe.
          breaker.execute(
            ({ signal: inner }) => oneAttempt(inner, breaker.state === CircuitState.HalfOpen),
            signal,
          )
      : (signal: AbortSignal) => oneAttempt(signal, false);
    const afterBackoff = async (signal: AbortSignal): Promise<T> => {
      const wait = backoffs.get(signal) ?? 0;
      if (wait > 0) await sleep(wait, signal);
      // A call answered while it slept must not reach the breaker (it could take the half-open probe).
      if (signal.aborted) throw signal.reason;
      return guarded(signal);
    };
    const retried =
      retry && retrying
        ? (signal: AbortSignal) =>
            retry.execute(
              ({ signal: inner, attempt: n }) => (n === 0 ? guarded(inner) : afterBackoff(inner)),
              signal,
            )
        : guarded;
    const isolated = bulkhead
      ? (signal: AbortSignal) => bulkhead.execute(({ signal: inner }) => retried(inner), signal)
      : retried;

    // Racing the call's own signal answers the caller at the moment it aborts or the deadline passes, even while
    // it waits in the bulkhead's queue or for a half-open probe's verdict. A backoff sleep ends at once too
    // (and frees the bulkhead slot); an attempt in flight is aborted through its signal.
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
      backoffs.delete(call.signal);
    }
  }

  /** Checks a call's options; a mistake here is the caller's bug, answered before any event or fallback. */
  const callDeadline = <T>(fn: unknown, callOptions: CallOptions<T>): number | undefined => {
    if (typeof fn !== 'function') throw invalidOptions('execute needs a function');
    if (!isRecord(callOptions)) throw invalidOptions('execute options must be an object');
    const { signal, deadlineMs, idempotent, fallback } = callOptions;
    if (signal !== undefined && !isSignal(signal)) throw invalidOptions('signal must be an AbortSignal');
    if (idempotent !== undefined && typeof idempotent !== 'boolean')
      throw invalidOptions(`idempotent must be a boolean, got ${shown(idempotent)}`);
    optionalFunction(fallback, 'fallback');
    if (deadlineMs === undefined) return policyDeadline;
    // At or below 0 is a deadline that has already passed (DEADLINE_EXCEEDED), not a mistake.
    if (typeof deadlineMs !== 'number' || Number.isNaN(deadlineMs) || deadlineMs > MAX_TIMER_MS)
      throw invalidOptions(
        `deadlineMs must be a number of ms at most ${MAX_TIMER_MS}, got ${shown(deadlineMs)}`,
      );
    return deadlineMs;
  };

  return {
    name,
    get breakerState(): BreakerState {
      return breaker ? STATE_NAMES[breaker.state] : 'closed';
    },
    async execute<T>(
      fn: (context: AttemptContext) => T | PromiseLike<T>,
      callOptions: CallOptions<T> = {},
    ): Promise<T> {
      const deadlineMs = callDeadline(fn, callOptions);
      emit('call');
      budget?.recordCall();
      const started = performance.now();
      try {
        const value = await run(fn, callOptions, deadlineMs);
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
