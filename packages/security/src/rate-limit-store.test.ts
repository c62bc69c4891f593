import { afterEach, describe, expect, it, vi } from 'vitest';
import { type CounterStore, createMemoryCounterStore, type WindowState } from './rate-limit-store.ts';

/** The memory store answers synchronously; this says so to the type checker. */
const peek = (store: CounterStore, key: string) => store.peek(key) as WindowState;

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('createMemoryCounterStore', () => {
  it('counts hits in a fixed window synchronously; peek counts nothing', () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'] });
    const store = createMemoryCounterStore(1000, 10);
    expect(store.peek('a')).toEqual({ current: 0, ttlMs: 0 });
    expect(store.hit('a')).toEqual({ current: 1, ttlMs: 1000 });
    vi.advanceTimersByTime(400);
    expect(store.hit('a')).toEqual({ current: 2, ttlMs: 600 });
    expect(store.peek('a')).toEqual({ current: 2, ttlMs: 600 });
    expect(store.peek('a')).toEqual({ current: 2, ttlMs: 600 });
    expect(store.hit('b')).toEqual({ current: 1, ttlMs: 1000 });
    vi.advanceTimersByTime(600);
    expect(store.peek('a')).toEqual({ current: 0, ttlMs: 0 });
    expect(store.hit('a')).toEqual({ current: 1, ttlMs: 1000 });
  });

  it('times windows on the monotonic clock: a wall-clock step back neither stretches nor keeps one open', () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'] });
    vi.setSystemTime(new Date('2030-01-01T12:00:00Z'));
    const store = createMemoryCounterStore(60_000, 10);
    expect(store.hit('a')).toEqual({ current: 1, ttlMs: 60_000 });
    // The wall clock is stepped back an hour (NTP, a VM resumed) while 10 s really pass.
    vi.setSystemTime(new Date('2030-01-01T11:00:00Z'));
    vi.advanceTimersByTime(10_000);
    expect(store.hit('a')).toEqual({ current: 2, ttlMs: 50_000 });
    vi.advanceTimersByTime(50_000);
    expect(store.peek('a')).toEqual({ current: 0, ttlMs: 0 });
  });

  it('never reports more time left than the window: RateLimit-Reset stays within it', () => {
    // (now + windowMs) - now came out a hair over windowMs for about 1% of clock readings past the first
    // second or so of a process; the clock is faked to readings of a service up for hours.
    const store = createMemoryCounterStore(60_000, 30_000);
    let reading = 3_600_000.123;
    vi.spyOn(performance, 'now').mockImplementation(() => {
      reading += 9_973.0071;
      return reading;
    });
    const over: number[] = [];
    for (let index = 0; index < 20_000; index += 1) {
      const { ttlMs } = store.hit(`client-${index}`) as WindowState;
      if (ttlMs > 60_000) over.push(ttlMs);
    }
    expect(over).toEqual([]);
  });

  it('forgets the least recently seen key beyond its bound', () => {
    const store = createMemoryCounterStore(60_000, 2);
    store.hit('a');
    store.hit('a');
    store.hit('b');
    store.hit('a');
    store.hit('c');
    // b was seen least recently: it went; a kept its count.
    expect(peek(store, 'b').current).toBe(0);
    expect(peek(store, 'a').current).toBe(3);
    expect(peek(store, 'c').current).toBe(1);
  });

  it('refuses a window that is not a whole number of milliseconds from 1 to 24 hours', () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'] });
    const store = createMemoryCounterStore(86_400_000, 10);
    expect(store.hit('a')).toEqual({ current: 1, ttlMs: 86_400_000 });
    vi.advanceTimersByTime(86_399_999);
    expect(store.hit('a')).toEqual({ current: 2, ttlMs: 1 });
    for (const windowMs of [0, -1, 1.5, Number.NaN, 86_400_001, 2 ** 31, 1e24]) {
      expect(() => createMemoryCounterStore(windowMs, 10)).toThrow(
        expect.objectContaining({
          code: 'RAMPART_SECURITY_OPTIONS_INVALID',
          message: expect.stringContaining('windowMs must be an integer from 1 to 86400000 (24 hours)'),
        }),
      );
    }
  });

  it('answers a closed window with a fresh, unfrozen object each time', () => {
    // A shared frozen constant here put the auth plugin's per-request peek into a V8 deopt loop (its map was
    // deprecated by a later window whose ttlMs was a double, and a frozen object never migrates).
    const store = createMemoryCounterStore(1000, 10);
    const first = peek(store, 'nobody');
    const second = peek(store, 'nobody');
    expect(first).toEqual({ current: 0, ttlMs: 0 });
    expect(second).not.toBe(first);
    expect(Object.isFrozen(first)).toBe(false);
  });
});
