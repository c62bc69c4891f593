// Option checks shared by every constructor. Each one treats `undefined` as "not given" (the default applies,
// and the default is what gets checked) and throws RAMPART_RESILIENCE_INVALID_OPTIONS naming the option.
import { invalidOptions } from './errors.ts';

/** The longest delay Node's timers take: a longer one fires after 1 ms (with only a TimeoutOverflowWarning). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** How a rejected value is shown in an error message: short, and never an object's contents. */
export function shown(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'function') return 'a function';
  return String(value);
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A duration in ms: a finite number above 0 (or at least 0 with `zero`) and at most MAX_TIMER_MS. */
export function duration(value: unknown, what: string, fallback: number, zero = false): number {
  const ms = value === undefined ? fallback : value;
  if (typeof ms !== 'number' || !Number.isFinite(ms) || (zero ? ms < 0 : ms <= 0) || ms > MAX_TIMER_MS)
    throw invalidOptions(
      `${what} must be a number of ms ${zero ? '>= 0' : 'above 0'} and at most ${MAX_TIMER_MS}, got ${shown(ms)}`,
    );
  return ms;
}

/** Like `duration`, for an option with no default: undefined stays undefined. */
export function optionalDuration(value: unknown, what: string): number | undefined {
  return value === undefined ? undefined : duration(value, what, 0);
}

export function integer(value: unknown, what: string, fallback: number, min: number): number {
  const n = value === undefined ? fallback : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < min)
    throw invalidOptions(`${what} must be an integer >= ${min}, got ${shown(n)}`);
  return n;
}

export function optionalFunction<T>(value: unknown, what: string): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') throw invalidOptions(`${what} must be a function, got ${shown(value)}`);
  return value as T;
}

/** A sub-options object (`retry`, `breaker`, ...): `false` turns it off, `undefined` means the defaults. */
export function section<T extends object>(
  value: unknown,
  what: string,
  shape: string,
): T | false | undefined {
  if (value === undefined || value === false) return value;
  if (!isRecord(value)) throw invalidOptions(`${what} must be ${shape} or false, got ${shown(value)}`);
  return value as T;
}

/** Anything that quacks like an AbortSignal (across realms and copies of Node's class). */
export function isSignal(value: unknown): value is AbortSignal {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as AbortSignal).aborted === 'boolean' &&
    typeof (value as AbortSignal).addEventListener === 'function' &&
    typeof (value as AbortSignal).removeEventListener === 'function'
  );
}
