import type { Redis } from 'ioredis';
import { SecurityError } from './errors.ts';
import { type CounterStore, checkWindowMs, type WindowState } from './rate-limit-store.ts';

/** What happens to a request while the rate-limit store is unreachable. */
export type FailurePolicy = 'open' | 'closed';

const FIXED_WINDOW = `
local current = redis.call('INCR', KEYS[1])
if current == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return { current, ttl }
`;

const READ_WINDOW = `
local current = redis.call('GET', KEYS[1])
if not current then return { 0, 0 } end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then ttl = 0 end
return { tonumber(current), ttl }
`;

interface WithRateLimitCommand {
  rampartRateLimit(key: string, windowMs: number): Promise<[number, number]>;
  rampartRateLimitRead(key: string): Promise<[number, number]>;
}

export interface RedisCounterStoreOptions {
  redis: Redis;
  /** Prefixes every key; give each service (and each test) its own. */
  prefix: string;
  windowMs: number;
  failurePolicy: FailurePolicy;
  onError?: (error: Error) => void;
}

/** Whether `value` looks like the ioredis client this store drives (a URL string or settings do not). */
export function isRedisClient(value: unknown): value is Redis {
  const client = value as Partial<Record<'defineCommand' | 'once' | 'off', unknown>> | null;
  return (
    typeof client === 'object' &&
    client !== null &&
    typeof client.defineCommand === 'function' &&
    typeof client.once === 'function' &&
    typeof client.off === 'function'
  );
}

/**
 * Fixed-window counters in Redis (one atomic script: INCR + PEXPIRE), shared by every instance using the same
 * prefix. On a store failure the policy decides: 'open' lets the request through (`current: -1`), 'closed'
 * fails it with RAMPART_SECURITY_RATE_LIMIT_UNAVAILABLE (503). The driver's error never reaches the client.
 */
export function createRedisCounterStore(options: RedisCounterStoreOptions): CounterStore {
  const { redis, prefix, windowMs, failurePolicy, onError } = options;
  if (!isRedisClient(redis)) {
    throw new SecurityError('RAMPART_SECURITY_OPTIONS_INVALID', {
      detail: 'redis must be an ioredis client (createRateLimitRedis), not a URL or a settings object',
    });
  }
  checkWindowMs('windowMs', windowMs);
  if (failurePolicy !== 'open' && failurePolicy !== 'closed') {
    throw new SecurityError('RAMPART_SECURITY_OPTIONS_INVALID', {
      detail: "failurePolicy must be 'open' or 'closed'",
    });
  }
  if (!(redis as unknown as Partial<WithRateLimitCommand>).rampartRateLimit) {
    redis.defineCommand('rampartRateLimit', { numberOfKeys: 1, lua: FIXED_WINDOW });
    redis.defineCommand('rampartRateLimitRead', { numberOfKeys: 1, lua: READ_WINDOW });
  }
  const command = redis as unknown as WithRateLimitCommand;
  const failed = (error: Error): WindowState => {
    onError?.(error);
    // Let through, with nothing known about the window: -1 tells the limiter to send no RateLimit headers
    // rather than claim a fresh window.
    if (failurePolicy === 'open') return { current: -1, ttlMs: 0 };
    throw new SecurityError('RAMPART_SECURITY_RATE_LIMIT_UNAVAILABLE', { cause: error });
  };
  const settle = (pending: Promise<[number, number]>): Promise<WindowState> =>
    pending.then(([current, ttlMs]) => ({ current, ttlMs }), failed);
  return {
    hit: (key) => settle(command.rampartRateLimit(prefix + key, windowMs)),
    peek: (key) => settle(command.rampartRateLimitRead(prefix + key)),
  };
}

/**
 * Resolves true once the client is ready, false if it is not within `timeoutMs` (or gave up). With no offline
 * queue, commands sent before the first connection fail, so start-up waits here briefly instead.
 */
export function waitForRedis(redis: Redis, timeoutMs: number): Promise<boolean> {
  if (redis.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const finish = (ready: boolean) => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      redis.off('end', onEnd);
      resolve(ready);
    };
    const onReady = () => finish(true);
    const onEnd = () => finish(false);
    const timer = setTimeout(() => finish(false), timeoutMs);
    timer.unref();
    redis.once('ready', onReady);
    redis.once('end', onEnd);
  });
}
