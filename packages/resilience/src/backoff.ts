import type { IBackoff, IBackoffFactory, IRetryBackoffContext } from 'cockatiel';
import { MAX_TIMER_MS } from './validate.ts';

export interface JitterOptions {
  /** Delay before the first retry, before jitter. */
  baseMs: number;
  /** Upper bound of any single delay. */
  maxMs: number;
}

// 2 ** 1024 is Infinity and 0 * Infinity is NaN: past this exponent the cap always wins anyway.
const MAX_EXPONENT = 1000;

/**
 * Full jitter ("Exponential Backoff and Jitter", AWS): a uniform delay in [0, min(max, base * 2^attempt)).
 * `attempt` counts from 1. Always a finite number in [0, maxMs], whatever the inputs.
 */
export function fullJitterDelay(
  attempt: number,
  options: JitterOptions,
  random: () => number = Math.random,
): number {
  const base = Number.isFinite(options.baseMs) && options.baseMs > 0 ? options.baseMs : 0;
  const max = Number.isFinite(options.maxMs) && options.maxMs > 0 ? options.maxMs : 0;
  const exponent = Number.isFinite(attempt)
    ? Math.min(Math.max(Math.floor(attempt) - 1, 0), MAX_EXPONENT)
    : 0;
  const ceiling = Math.min(max, base * 2 ** exponent);
  const draw = random();
  const unit = Number.isFinite(draw) ? Math.min(Math.max(draw, 0), 1) : 0;
  return Math.min(Math.floor(unit * ceiling), max);
}

/** Reads a delay the failed attempt asked for (an upstream's Retry-After), if any. */
export function retryAfterOf(context: IRetryBackoffContext<unknown>): number | undefined {
  const failure = context.result;
  const source = 'error' in failure ? failure.error : failure.value;
  const value = (source as { retryAfterMs?: unknown } | null | undefined)?.retryAfterMs;
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/**
 * A cockatiel backoff: capped exponential with full jitter, never shorter than a Retry-After the upstream
 * sent, and never longer than the time `remainingMs` says the caller has left (nor than a Node timer can wait).
 */
export function createJitterBackoff(
  options: JitterOptions,
  remainingMs: (signal: AbortSignal) => number = () => Number.POSITIVE_INFINITY,
  random: () => number = Math.random,
): IBackoffFactory<IRetryBackoffContext<unknown>> {
  const at = (duration: number): IBackoff<IRetryBackoffContext<unknown>> => ({
    duration,
    next: (context) => {
      const jittered = fullJitterDelay(context.attempt, options, random);
      const asked = retryAfterOf(context);
      const wanted = asked === undefined ? jittered : Math.max(jittered, asked);
      return at(Math.max(0, Math.min(wanted, remainingMs(context.signal), MAX_TIMER_MS)));
    },
  });
  return { next: (context) => at(0).next(context) };
}

/**
 * Parses an HTTP Retry-After value (delta-seconds or an HTTP date) into milliseconds from `now`. A fraction
 * (`1.5`, not valid HTTP but sent by some servers) is read as seconds; anything else that starts like a number
 * (`-1`, `1e3`) is ignored rather than handed to `Date.parse`, which reads `1.5` as a date in 2001.
 */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  if (/^\d+\.\d+$/.test(trimmed)) return Math.ceil(Number(trimmed) * 1000);
  if (/^[-+.\d]/.test(trimmed)) return undefined;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}
