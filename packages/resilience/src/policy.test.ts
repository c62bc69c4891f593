import { getEventListeners } from 'node:events';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createJitterBackoff, fullJitterDelay, parseRetryAfter } from './backoff.ts';
import type { PolicyEvent } from './observer.ts';
import { createPolicy } from './policy.ts';

function recorder() {
  const events: PolicyEvent[] = [];
  return {
    events,
    observer: { onEvent: (event: PolicyEvent) => events.push(event) },
    kinds: () => events.map((e) => e.kind),
  };
}

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const transient = () => Object.assign(new Error('reset'), { code: 'ECONNRESET' });

const hang = ({ signal }: { signal: AbortSignal }) =>
  new Promise<never>((_resolve, reject) => {
    signal.addEventListener('abort', () => reject(signal.reason));
  });

async function codeOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return (error as { code?: unknown }).code;
  }
  return 'resolved';
}

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('createPolicy', () => {
  it('retries transient failures and reports call, retry and success', async () => {
    const { observer, kinds } = recorder();
    const policy = createPolicy({ name: 'dep', observer, retry: { baseDelayMs: 1, maxDelayMs: 2 } });
    let attempts = 0;
    const value = await policy.execute(({ attempt }) => {
      attempts += 1;
      if (attempt < 2) throw transient();
      return 'ok';
    });
    expect(value).toBe('ok');
    expect(attempts).toBe(3);
    expect(kinds()).toEqual(['call', 'retry', 'retry', 'success']);
  });

  it('does not retry work marked non-idempotent, nor errors that are not transient', async () => {
    const policy = createPolicy({ name: 'dep', retry: { baseDelayMs: 1 } });
    let attempts = 0;
    await expect(
      policy.execute(
        () => {
          attempts += 1;
          throw transient();
        },
        { idempotent: false },
      ),
    ).rejects.toMatchObject({ code: 'ECONNRESET' });
    await expect(
      policy.execute(() => {
        attempts += 1;
        throw new Error('validation failed');
      }),
    ).rejects.toThrow('validation failed');
    expect(attempts).toBe(2);
  });

  it('aborts the attempt signal on attempt timeout and fails with a coded error', async () => {
    const { observer, kinds } = recorder();
    const policy = createPolicy({ name: 'slow', attemptTimeoutMs: 20, retry: false, observer });
    let seen: AbortSignal | undefined;
    const code = await codeOf(
      policy.execute(({ signal }) => {
        seen = signal;
        return new Promise(() => {});
      }),
    );
    expect(code).toBe('RAMPART_RESILIENCE_TIMEOUT');
    expect(seen?.aborted).toBe(true);
    expect(kinds()).toEqual(['call', 'timeout', 'failure']);
  });

  it('stops at the deadline, across retries and backoff, without counting it against the breaker', async () => {
    const policy = createPolicy({
      name: 'dep',
      attemptTimeoutMs: 1_000,
      retry: { maxRetries: 50, baseDelayMs: 5, maxDelayMs: 10, budget: false },
      breaker: { consecutiveFailures: 1 },
    });
    let attempts = 0;
    const started = Date.now();
    const code = await codeOf(
      policy.execute(
        ({ signal }) => {
          attempts += 1;
          return new Promise((_resolve, reject) => {
            signal.addEventListener('abort', () => reject(signal.reason));
          });
        },
        { deadlineMs: 50 },
      ),
    );
    expect(code).toBe('RAMPART_RESILIENCE_DEADLINE_EXCEEDED');
    expect(attempts).toBe(1);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(policy.breakerState).toBe('closed');
  });

  it('fails fast with RAMPART_RESILIENCE_ABORTED when the caller aborts', async () => {
    const policy = createPolicy({ name: 'dep' });
    const caller = new AbortController();
    const pending = policy.execute(
      ({ signal }) =>
        new Promise((_resolve, reject) => {
          signal.addEventListener('abort', () => reject(signal.reason));
        }),
      { signal: caller.signal },
    );
    caller.abort();
    expect(await codeOf(pending)).toBe('RAMPART_RESILIENCE_ABORTED');
    expect(await codeOf(policy.execute(() => 1, { signal: caller.signal }))).toBe(
      'RAMPART_RESILIENCE_ABORTED',
    );
  });

  it('answers an abort at once even while sleeping out a long Retry-After', async () => {
    const policy = createPolicy({ name: 'dep', retry: { maxRetries: 3, budget: false } });
    const caller = new AbortController();
    let attempts = 0;
    const pending = policy.execute(
      () => {
        attempts += 1;
        throw Object.assign(new Error('busy'), { retryable: true, retryAfterMs: 10_000 });
      },
      { signal: caller.signal },
    );
    setTimeout(() => caller.abort(), 30);
    const started = Date.now();
    expect(await codeOf(pending)).toBe('RAMPART_RESILIENCE_ABORTED');
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(attempts).toBe(1);
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
  });

  it('rejects what does not fit in the bulkhead with a coded error and an event', async () => {
    const { observer, kinds } = recorder();
    const policy = createPolicy({ name: 'narrow', bulkhead: { limit: 1, queue: 0 }, observer });
    const gate = deferred<string>();
    const first = policy.execute(() => gate.promise);
    expect(await codeOf(policy.execute(() => 'second'))).toBe('RAMPART_RESILIENCE_BULKHEAD_FULL');
    gate.resolve('first');
    await expect(first).resolves.toBe('first');
    expect(kinds()).toContain('bulkhead-rejected');
  });

  it('answers with the fallback, which receives the final error', async () => {
    const { observer, kinds } = recorder();
    const policy = createPolicy({ name: 'dep', retry: false, observer });
    const value = await policy.execute(
      () => {
        throw new Error('boom');
      },
      { fallback: (error) => `stale (${(error as Error).message})` },
    );
    expect(value).toBe('stale (boom)');
    expect(kinds()).toEqual(['call', 'failure', 'fallback']);
  });

  it('keeps retries within the retry budget', async () => {
    const policy = createPolicy({
      name: 'dep',
      breaker: false,
      retry: { maxRetries: 3, baseDelayMs: 1, maxDelayMs: 1, budget: { ratio: 0, minRetries: 2 } },
    });
    let attempts = 0;
    for (let i = 0; i < 3; i++) {
      await codeOf(
        policy.execute(() => {
          attempts += 1;
          throw transient();
        }),
      );
    }
    // Three calls, but only two retries in the window.
    expect(attempts).toBe(5);
  });

  it.each([
    [{ name: '' }],
    [{ name: 'x', attemptTimeoutMs: 0 }],
    [{ name: 'x', retry: { maxRetries: -1 } }],
    [{ name: 'x', breaker: { consecutiveFailures: 1.5 } }],
    [{ name: 'x', bulkhead: { limit: 0 } }],
    [{ name: 'x', deadlineMs: Number.NaN }],
  ])('rejects invalid options %j at create time', (options) => {
    expect(() => createPolicy(options)).toThrow(
      expect.objectContaining({ code: 'RAMPART_RESILIENCE_INVALID_OPTIONS' }),
    );
  });

  // Node clamps a longer timer to 1 ms: 2^31 ms of attempt timeout used to time every attempt out at once.
  it.each([
    ['attemptTimeoutMs', { attemptTimeoutMs: 2 ** 31 }],
    ['deadlineMs', { deadlineMs: Number.MAX_SAFE_INTEGER }],
    ['retry.baseDelayMs', { retry: { baseDelayMs: 2 ** 31 } }],
    ['retry.maxDelayMs', { retry: { maxDelayMs: 2 ** 31 } }],
    ['breaker.halfOpenAfterMs', { breaker: { halfOpenAfterMs: 2 ** 31 } }],
    ['retryBudget.windowMs', { retry: { budget: { windowMs: 2 ** 31 } } }],
  ])('rejects a duration above 2^31-1 ms: %s', (option, options) => {
    expect(() => createPolicy({ name: 'x', ...options })).toThrow(
      expect.objectContaining({
        code: 'RAMPART_RESILIENCE_INVALID_OPTIONS',
        message: expect.stringContaining(option),
      }),
    );
    expect(() => createPolicy({ name: 'x', attemptTimeoutMs: 2 ** 31 - 1 })).not.toThrow();
  });

  it.each([
    ['bulkhead without a limit, with a queue', { bulkhead: { limit: undefined, queue: 10 } }],
    ['bulkhead without a limit', { bulkhead: {} }],
    ['bulkhead: true', { bulkhead: true }],
    ['retry: true', { retry: true }],
    ['retry.retryOn not a function', { retry: { retryOn: 'yes' } }],
    ['retry.budget: true', { retry: { budget: true } }],
    ['breaker.failureOn not a function', { breaker: { failureOn: 1 } }],
    ['observer without onEvent', { observer: {} }],
    ['options not an object', undefined],
  ])('rejects %s with a named error at create time', (_label, options) => {
    const built = () =>
      createPolicy(options === undefined ? (undefined as never) : ({ name: 'x', ...options } as never));
    expect(built).toThrow(expect.objectContaining({ code: 'RAMPART_RESILIENCE_INVALID_OPTIONS' }));
  });

  it('treats an option set to undefined as not given: the default applies', async () => {
    vi.useFakeTimers();
    const env: Record<string, number | undefined> = {}; // optional settings nobody set
    const policy = createPolicy({
      name: 'dep',
      retry: false,
      breaker: { consecutiveFailures: env.FAILURES, halfOpenAfterMs: env.HALF_OPEN },
    });
    for (let i = 0; i < 5; i++)
      expect(await codeOf(policy.execute(() => Promise.reject(transient())))).toBe('ECONNRESET');
    // The default 5 failures opened it, and the default 10 s keep it open.
    expect(policy.breakerState).toBe('open');
    await vi.advanceTimersByTimeAsync(9_999);
    expect(await codeOf(policy.execute(() => 'x'))).toBe('RAMPART_RESILIENCE_CIRCUIT_OPEN');

    // The default 100 ms base delay (full jitter, here the middle of [0, 100)): not a hot retry loop.
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const retrying = createPolicy({
      name: 'dep',
      breaker: false,
      retry: { maxRetries: 1, baseDelayMs: env.BASE, maxDelayMs: env.MAX, budget: false },
    });
    let attempts = 0;
    const pending = codeOf(
      retrying.execute(() => {
        attempts += 1;
        throw transient();
      }),
    );
    await vi.advanceTimersByTimeAsync(49);
    expect(attempts).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(attempts).toBe(2);
    expect(await pending).toBe('ECONNRESET');
  });

  it('answers a call whose deadline has already run out with DEADLINE_EXCEEDED, which a fallback may cover', async () => {
    const { observer, kinds } = recorder();
    const policy = createPolicy({ name: 'dep', observer });
    let ran = 0;
    const work = () => {
      ran += 1;
      return 'ran';
    };
    for (const deadlineMs of [0, -1, Number.NEGATIVE_INFINITY]) {
      await expect(policy.execute(work, { deadlineMs })).rejects.toMatchObject({
        code: 'RAMPART_RESILIENCE_DEADLINE_EXCEEDED',
        statusCode: 504,
      });
    }
    const fallen = await policy.execute(work, {
      deadlineMs: -5,
      fallback: (error) => `fallback(${(error as { code: string }).code})`,
    });
    expect(fallen).toBe('fallback(RAMPART_RESILIENCE_DEADLINE_EXCEEDED)');
    expect(ran).toBe(0);
    expect(kinds().slice(0, 3)).toEqual(['call', 'timeout', 'failure']);
  });

  it('refuses a call option that is not a deadline at all, without running the fallback', async () => {
    const { observer, kinds } = recorder();
    const policy = createPolicy({ name: 'dep', observer });
    let fellBack = 0;
    const fallback = () => {
      fellBack += 1;
      return 'fallback';
    };
    for (const deadlineMs of [Number.NaN, '100', 2 ** 31]) {
      await expect(
        policy.execute(() => 'ran', { deadlineMs: deadlineMs as number, fallback }),
      ).rejects.toMatchObject({
        code: 'RAMPART_RESILIENCE_INVALID_OPTIONS',
      });
    }
    await expect(policy.execute(() => 'ran', { signal: 'nope' as never, fallback })).rejects.toMatchObject({
      code: 'RAMPART_RESILIENCE_INVALID_OPTIONS',
    });
    expect(fellBack).toBe(0);
    expect(kinds()).toEqual([]);
  });

  it('fails at once with the failure itself when its Retry-After is longer than the call has left', async () => {
    vi.useFakeTimers();
    const policy = createPolicy({ name: 'dep', retry: { maxRetries: 3, budget: false } });
    let attempts = 0;
    const busy = Object.assign(new Error('busy'), { code: 'BUSY', retryable: true, retryAfterMs: 10_000 });
    const settled = vi.fn();
    const pending = policy
      .execute(
        () => {
          attempts += 1;
          throw busy;
        },
        { deadlineMs: 1_500 },
      )
      .then(settled, (error: unknown) => {
        settled(error);
      });
    // No time passes: the call does not sleep towards a deadline the retry could never beat.
    await vi.advanceTimersByTimeAsync(0);
    expect(settled).toHaveBeenCalledWith(busy);
    await pending;
    expect(attempts).toBe(1);

    // A Retry-After that fits is still waited for.
    let tries = 0;
    const fits = policy.execute(
      () => {
        tries += 1;
        if (tries === 1) throw Object.assign(new Error('busy'), { retryable: true, retryAfterMs: 1_000 });
        return 'ok';
      },
      { deadlineMs: 1_500 },
    );
    await vi.advanceTimersByTimeAsync(999);
    expect(tries).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    await expect(fits).resolves.toBe('ok');
  });

  it('frees the bulkhead slot at once when a call is aborted during its backoff', async () => {
    const policy = createPolicy({
      name: 'narrow',
      bulkhead: { limit: 1 },
      retry: { maxRetries: 2, budget: false },
    });
    const caller = new AbortController();
    let attempts = 0;
    const first = policy.execute(
      () => {
        attempts += 1;
        throw Object.assign(new Error('busy'), { retryable: true, retryAfterMs: 20_000 });
      },
      { signal: caller.signal },
    );
    // Well into its 20 s backoff, holding the only slot.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(attempts).toBe(1);
    expect(policy.cockatiel.bulkhead?.executionSlots).toBe(0);
    caller.abort();
    expect(await codeOf(first)).toBe('RAMPART_RESILIENCE_ABORTED');
    await new Promise((resolve) => setImmediate(resolve));
    expect(policy.cockatiel.bulkhead?.executionSlots).toBe(1);
    await expect(policy.execute(() => 'next')).resolves.toBe('next');
  });
});

describe('circuit breaker under fake timers', () => {
  it('lets exactly one probe through in half-open with 100 concurrent callers', async () => {
    vi.useFakeTimers();
    const { observer, kinds } = recorder();
    const policy = createPolicy({
      name: 'flaky',
      retry: false,
      attemptTimeoutMs: 60_000,
      breaker: { consecutiveFailures: 3, halfOpenAfterMs: 1_000 },
      observer,
    });
    for (let i = 0; i < 3; i++) await codeOf(policy.execute(() => Promise.reject(new Error('down'))));
    expect(policy.breakerState).toBe('open');
    expect(await codeOf(policy.execute(() => 'never runs'))).toBe('RAMPART_RESILIENCE_CIRCUIT_OPEN');

    await vi.advanceTimersByTimeAsync(1_000);
    let calls = 0;
    const probe = deferred<string>();
    const first = Promise.allSettled(
      Array.from({ length: 100 }, () =>
        policy.execute(() => {
          calls += 1;
          return probe.promise;
        }),
      ),
    );
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toBe(1);
    expect(policy.breakerState).toBe('half-open');
    probe.reject(new Error('still down'));
    const failed = await first;
    expect(calls).toBe(1);
    expect(failed.filter((r) => r.status === 'rejected').length).toBe(100);
    const codes = failed.map((r) => (r.status === 'rejected' ? (r.reason as { code?: string }).code : 'ok'));
    expect(codes.filter((code) => code === 'RAMPART_RESILIENCE_CIRCUIT_OPEN').length).toBe(99);
    expect(policy.breakerState).toBe('open');

    // Second window: the single probe succeeds, the breaker closes and the 99 waiting callers run.
    await vi.advanceTimersByTimeAsync(1_000);
    calls = 0;
    const healthy = deferred<string>();
    const second = Promise.all(
      Array.from({ length: 100 }, () =>
        policy.execute(() => {
          calls += 1;
          return healthy.promise;
        }),
      ),
    );
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toBe(1);
    healthy.resolve('up');
    expect(new Set(await second)).toEqual(new Set(['up']));
    expect(calls).toBe(100);
    expect(policy.breakerState).toBe('closed');
    expect(kinds().filter((kind) => kind.startsWith('breaker-'))).toEqual([
      'breaker-open',
      'breaker-half-open',
      'breaker-open',
      'breaker-half-open',
      'breaker-closed',
    ]);
  });

  it.each([
    [
      'the caller hangs up',
      (run: (fn: (c: { signal: AbortSignal }) => Promise<never>, o: object) => Promise<unknown>) => {
        const caller = new AbortController();
        const pending = run(hang, { signal: caller.signal });
        setTimeout(() => caller.abort(), 10);
        return pending;
      },
      'RAMPART_RESILIENCE_ABORTED',
    ],
    [
      'the deadline passes',
      (run: (fn: (c: { signal: AbortSignal }) => Promise<never>, o: object) => Promise<unknown>) =>
        run(hang, { deadlineMs: 10 }),
      'RAMPART_RESILIENCE_DEADLINE_EXCEEDED',
    ],
    [
      'it fails with an error the breaker otherwise ignores (a 429)',
      (run: (fn: () => Promise<never>, o: object) => Promise<unknown>) =>
        run(
          () =>
            Promise.reject(
              Object.assign(new Error('throttled'), { code: 'THROTTLED', breakerIgnores: true }),
            ),
          {},
        ),
      'THROTTLED',
    ],
  ])(
    're-opens the half-open breaker when its probe ends without a verdict: %s',
    async (_label, probe, code) => {
      vi.useFakeTimers();
      const { observer, kinds } = recorder();
      const policy = createPolicy({
        name: 'flaky',
        retry: false,
        attemptTimeoutMs: 60_000,
        breaker: { consecutiveFailures: 2, halfOpenAfterMs: 1_000 },
        observer,
      });
      for (let i = 0; i < 2; i++) await codeOf(policy.execute(() => Promise.reject(new Error('down'))));
      await vi.advanceTimersByTimeAsync(1_000);
      const outcome = codeOf(probe((fn, options) => policy.execute(fn, options)));
      await vi.advanceTimersByTimeAsync(20);
      expect(await outcome).toBe(code);
      await vi.advanceTimersByTimeAsync(0);
      expect(policy.breakerState).toBe('open');
      expect(await codeOf(policy.execute(() => 'too soon'))).toBe('RAMPART_RESILIENCE_CIRCUIT_OPEN');
      // Only a probe that succeeds closes it.
      await vi.advanceTimersByTimeAsync(1_000);
      await expect(policy.execute(() => 'up')).resolves.toBe('up');
      expect(policy.breakerState).toBe('closed');
      expect(kinds().filter((kind) => kind.startsWith('breaker-'))).toEqual([
        'breaker-open',
        'breaker-half-open',
        'breaker-open',
        'breaker-half-open',
        'breaker-closed',
      ]);
    },
  );

  it('does not count an ignored failure of a call that started before the breaker half-opened', async () => {
    vi.useFakeTimers();
    const policy = createPolicy({
      name: 'flaky',
      retry: false,
      attemptTimeoutMs: 60_000,
      breaker: { consecutiveFailures: 2, halfOpenAfterMs: 1_000 },
    });
    const slow = deferred<never>();
    const early = codeOf(policy.execute(() => slow.promise));
    for (let i = 0; i < 2; i++) await codeOf(policy.execute(() => Promise.reject(new Error('down'))));
    await vi.advanceTimersByTimeAsync(1_000);
    const probe = deferred<string>();
    const probing = policy.execute(() => probe.promise);
    await vi.advanceTimersByTimeAsync(0);
    expect(policy.breakerState).toBe('half-open');
    // The early call (not the probe) ends with an error the breaker ignores: the probe still decides.
    slow.reject(Object.assign(new Error('throttled'), { breakerIgnores: true }));
    await early;
    expect(policy.breakerState).toBe('half-open');
    probe.resolve('up');
    await expect(probing).resolves.toBe('up');
    expect(policy.breakerState).toBe('closed');
  });

  it('leaks no listeners after 10k calls that share one caller signal', async () => {
    const caller = new AbortController();
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    const { events, observer } = recorder();
    const policy = createPolicy({ name: 'busy', observer, deadlineMs: 5_000, retry: { baseDelayMs: 1 } });
    let failures = 0;
    for (let i = 0; i < 10_000; i++) {
      try {
        await policy.execute(
          ({ attempt }) => {
            if (i % 10 === 0 && attempt === 0) throw transient();
            return i;
          },
          { signal: caller.signal },
        );
      } catch {
        failures += 1;
      }
    }
    process.off('warning', onWarning);
    expect(failures).toBe(0);
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
    expect(events.filter((e) => e.kind === 'call')).toHaveLength(10_000);
  });

  it('leaks no listeners across 10k calls that keep tripping, probing and closing the breaker', async () => {
    vi.useFakeTimers();
    const caller = new AbortController();
    const { events, observer } = recorder();
    const policy = createPolicy({
      name: 'cycling',
      observer,
      deadlineMs: 5_000,
      retry: false,
      breaker: { consecutiveFailures: 3, halfOpenAfterMs: 100 },
    });
    const outcomes: Record<string, number> = {};
    for (let i = 0; i < 10_000; i++) {
      const step = i % 100;
      if (step === 4) await vi.advanceTimersByTimeAsync(100);
      const code = await codeOf(
        policy.execute(
          () => {
            if (step < 3) throw new Error('down');
            return 'ok';
          },
          { signal: caller.signal },
        ),
      );
      const key = String(code);
      outcomes[key] = (outcomes[key] ?? 0) + 1;
    }
    // Per block of 100: 3 failures open it, 1 call is refused, then the probe closes it and 96 more succeed.
    expect(outcomes).toEqual({ undefined: 300, RAMPART_RESILIENCE_CIRCUIT_OPEN: 100, resolved: 9_600 });
    expect(events.filter((e) => e.kind === 'breaker-open')).toHaveLength(100);
    expect(events.filter((e) => e.kind === 'breaker-closed')).toHaveLength(100);
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('backoff', () => {
  it('full jitter never yields NaN and stays within [0, max]', () => {
    const anyNumber = fc.oneof(
      fc.double(),
      fc.constantFrom(
        Number.NaN,
        Number.POSITIVE_INFINITY,
        Number.NEGATIVE_INFINITY,
        0,
        -0,
        Number.MAX_VALUE,
      ),
    );
    fc.assert(
      fc.property(
        anyNumber,
        anyNumber,
        anyNumber,
        fc.double({ min: 0, max: 1, maxExcluded: true }),
        (attempt, base, max, draw) => {
          const delay = fullJitterDelay(attempt, { baseMs: base, maxMs: max }, () => draw);
          const cap = Number.isFinite(max) && max > 0 ? max : 0;
          return Number.isFinite(delay) && delay >= 0 && delay <= cap;
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it('grows the ceiling exponentially up to the cap', () => {
    const top = () => 0.999_999;
    expect([1, 2, 3, 4, 10].map((a) => fullJitterDelay(a, { baseMs: 100, maxMs: 1_000 }, top))).toEqual([
      99, 199, 399, 799, 999,
    ]);
    expect(fullJitterDelay(3, { baseMs: 100, maxMs: 1_000 }, () => 0)).toBe(0);
  });

  it('waits at least the Retry-After an upstream asked for, but never past the deadline', () => {
    const backoff = createJitterBackoff(
      { baseMs: 10, maxMs: 20 },
      () => 5_000,
      () => 0.5,
    );
    const signal = new AbortController().signal;
    const asked = backoff.next({ attempt: 1, signal, result: { error: { retryAfterMs: 3_000 } } });
    expect(asked.duration).toBe(3_000);
    const plain = backoff.next({ attempt: 1, signal, result: { error: new Error('x') } });
    expect(plain.duration).toBe(5);
    const capped = createJitterBackoff(
      { baseMs: 10, maxMs: 20 },
      () => 100,
      () => 0.5,
    );
    expect(capped.next({ attempt: 1, signal, result: { error: { retryAfterMs: 3_000 } } }).duration).toBe(
      100,
    );
  });

  it('parses Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3_000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now)).toBe(5_000);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });

  it('reads a fractional Retry-After as seconds, and ignores other numbers rather than parse them as dates', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('1.5', now)).toBe(1_500);
    expect(parseRetryAfter(' 0.25 ', now)).toBe(250);
    for (const odd of ['-1', '1e3', '+5', '.5', '1.5.2']) expect(parseRetryAfter(odd, now)).toBeUndefined();
  });

  it('never asks for a sleep longer than a Node timer can wait', () => {
    const backoff = createJitterBackoff({ baseMs: 10, maxMs: 20 });
    const signal = new AbortController().signal;
    const asked = backoff.next({ attempt: 1, signal, result: { error: { retryAfterMs: 10 ** 12 } } });
    expect(asked.duration).toBe(2 ** 31 - 1);
  });
});
