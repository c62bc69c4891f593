import { invalidOptions } from './errors.ts';
import { duration, integer, isRecord, optionalFunction, shown } from './validate.ts';

export interface RetryBudgetOptions {
  /** Retries allowed as a fraction of calls in the window (0.2 = at most one retry per five calls). */
  ratio?: number;
  /** Retries always allowed per window, so a quiet dependency still gets retried. */
  minRetries?: number;
  /** Length of the sliding window. */
  windowMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

/** Caps retries to a share of traffic, so retries cannot multiply load on a struggling dependency. */
export interface RetryBudget {
  /** Records one call (first attempt). */
  recordCall(): void;
  /** True when one more retry fits in the budget. */
  canRetry(): boolean;
  /** Records one retry. */
  recordRetry(): void;
}

export const RETRY_BUDGET_DEFAULTS = { ratio: 0.2, minRetries: 10, windowMs: 10_000 } as const;

const BUCKETS = 10;

export function createRetryBudget(options: RetryBudgetOptions = {}): RetryBudget {
  if (!isRecord(options)) throw invalidOptions('the retry budget options must be an object');
  const ratio = options.ratio ?? RETRY_BUDGET_DEFAULTS.ratio;
  if (!(typeof ratio === 'number' && Number.isFinite(ratio) && ratio >= 0))
    throw invalidOptions(`retryBudget.ratio must be >= 0, got ${shown(ratio)}`);
  const minRetries = integer(
    options.minRetries,
    'retryBudget.minRetries',
    RETRY_BUDGET_DEFAULTS.minRetries,
    0,
  );
  const windowMs = duration(options.windowMs, 'retryBudget.windowMs', RETRY_BUDGET_DEFAULTS.windowMs);
  if (windowMs < BUCKETS) throw invalidOptions(`retryBudget.windowMs must be >= ${BUCKETS}, got ${windowMs}`);
  const now = optionalFunction<() => number>(options.now, 'retryBudget.now') ?? Date.now;

  // A ring of buckets, each covering windowMs / BUCKETS, so memory stays constant whatever the traffic.
  const span = windowMs / BUCKETS;
  const calls = new Array<number>(BUCKETS).fill(0);
  const retries = new Array<number>(BUCKETS).fill(0);
  let current = Math.floor(now() / span);

  const advance = (): number => {
    const tick = Math.floor(now() / span);
    const steps = Math.min(tick - current, BUCKETS);
    for (let i = 1; i <= steps; i++) {
      const slot = (current + i) % BUCKETS;
      calls[slot] = 0;
      retries[slot] = 0;
    }
    if (tick > current) current = tick;
    return current % BUCKETS;
  };
  const sum = (values: number[]): number => values.reduce((total, value) => total + value, 0);

  return {
    recordCall() {
      const slot = advance();
      calls[slot] = (calls[slot] ?? 0) + 1;
    },
    canRetry() {
      advance();
      return sum(retries) < Math.max(minRetries, Math.floor(sum(calls) * ratio));
    },
    recordRetry() {
      const slot = advance();
      retries[slot] = (retries[slot] ?? 0) + 1;
    },
  };
}
