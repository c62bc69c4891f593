import { SecurityError } from './errors.ts';

/**
 * A key's fixed window after a hit or a peek: requests counted in it, and milliseconds until it resets.
 * `current` is -1 when a shared store could not answer and its failure policy ('open') let the request
 * through: nothing is known about the window, so no RateLimit headers are sent.
 */
export interface WindowState {
  current: number;
  ttlMs: number;
}

/**
 * Fixed-window counters. In memory every answer is synchronous (a value, not a promise), so the request that
 * asks waits for no microtask; a shared store (Redis) answers with a promise. Callers handle both.
 */
export interface CounterStore {
  /** Counts one request in `key`'s window, starting a new window if none is open. */
  hit(key: string): WindowState | Promise<WindowState>;
  /** The window as it stands, counting nothing: `{ current: 0, ttlMs: 0 }` when none is open. */
  peek(key: string): WindowState | Promise<WindowState>;
}

/**
 * The longest window, a day: longer is a quota, not a rate limit. Past it things broke: a Retry-After over
 * 2^31 - 1 ms sends a client that sleeps with setTimeout straight back (Node fires it after 1 ms), from about
 * 9.2e18 ms Redis refuses the PEXPIRE (every request 503, or no limit at all under 'open', and a counter key
 * that never expires), and from 1e24 ms the memory store's RateLimit-Reset reads `1e+21`.
 */
export const MAX_WINDOW_MS = 86_400_000;

/** Throws RAMPART_SECURITY_OPTIONS_INVALID unless `windowMs` is a whole number of ms from 1 to a day. */
export function checkWindowMs(name: string, windowMs: unknown): void {
  if (!Number.isInteger(windowMs) || (windowMs as number) < 1 || (windowMs as number) > MAX_WINDOW_MS) {
    throw new SecurityError('RAMPART_SECURITY_OPTIONS_INVALID', {
      detail: `${name} must be an integer from 1 to ${MAX_WINDOW_MS} (24 hours)`,
    });
  }
}

interface Entry {
  current: number;
  resetAt: number;
}

/**
 * A closed window, as a fresh object each time. Not one frozen constant: the first `{ current, ttlMs }` whose
 * ttlMs came out as a double (`resetAt - now`) changed the shape's field representation, V8 deprecated
 * the frozen constant's map, and a frozen object never migrates, so the auth plugin's failed-auth check, which
 * peeks on every request, was thrown out of optimized code about ten times a second for good (a deopt loop
 * seen with --trace-deopt in bench/).
 */
const closed = (): WindowState => ({ current: 0, ttlMs: 0 });

/**
 * Counters for one window length in a Map kept in least-recently-used order and bounded to `maxKeys`: past
 * it the client seen longest ago is forgotten (its next request opens a fresh window). Windows are timed on
 * the monotonic clock (`performance.now()`), so a wall-clock step neither stretches nor cuts one short.
 */
export function createMemoryCounterStore(windowMs: number, maxKeys: number): CounterStore {
  checkWindowMs('windowMs', windowMs);
  const entries = new Map<string, Entry>();
  /** The key touched last: already in most-recently-used position, so one client's traffic skips the move. */
  let newest: string | undefined;

  function touch(key: string, entry: Entry): void {
    if (newest === key) return;
    entries.delete(key);
    entries.set(key, entry);
    newest = key;
  }

  return {
    hit(key) {
      const now = performance.now();
      let entry = entries.get(key);
      if (entry === undefined) {
        entry = { current: 1, resetAt: now + windowMs };
        entries.set(key, entry);
        newest = key;
        if (entries.size > maxKeys) entries.delete(entries.keys().next().value as string);
      } else {
        if (entry.resetAt <= now) {
          entry.current = 1;
          entry.resetAt = now + windowMs;
        } else entry.current += 1;
        touch(key, entry);
      }
      // (now + windowMs) - now can come out a hair over windowMs in floating point: RateLimit-Reset 61 on
      // the first response of a 60 s window, about once in a hundred.
      return { current: entry.current, ttlMs: Math.min(windowMs, entry.resetAt - now) };
    },
    peek(key) {
      const entry = entries.get(key);
      if (entry === undefined) return closed();
      const ttlMs = entry.resetAt - performance.now();
      if (ttlMs <= 0) return closed();
      return { current: entry.current, ttlMs };
    },
  };
}
