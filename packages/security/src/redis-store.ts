import type { Redis } from 'ioredis';
import { SecurityError } from './errors.ts';

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

type Callback = (error: Error | null, result?: { current: number; ttl: number }) => void;

/** The store contract of @fastify/rate-limit (`store` option), implemented on Redis. */
export interface RateLimitStore {
  incr(key: string, callback: Callback, timeWindow: number, max: number): void;
  read(key: string, callback: Callback, timeWindow: number, max: number): void;
  child(routeOptions: { routeInfo?: { method?: string; url?: string } }): RateLimitStore;
}

export interface RedisStoreOptions {
  redis: Redis;
  /** Namespaces every key; give each service (and each test) its own. */
  prefix: string;
  failurePolicy: FailurePolicy;
  onError?: (error: Error) => void;
}

/**
 * A fixed-window counter in Redis (one atomic script: INCR + PEXPIRE), shared by every instance using the same
 * prefix. On a store failure the policy decides: 'open' lets the request through, 'closed' fails it with
 * RAMPART_SECURITY_RATE_LIMIT_UNAVAILABLE (503). The driver's error never reaches the client.
 */
export function createRedisRateLimitStore(
  options: RedisStoreOptions,
): new (
  ...args: unknown[]
) => RateLimitStore {
  const { redis, failurePolicy, onError } = options;
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

  const settle = (pending: Promise<[number, number]>, callback: Callback, timeWindow: number) => {
    pending.then(
      ([current, ttl]) => callback(null, { current, ttl }),
      (error: Error) => {
        onError?.(error);
        if (failurePolicy === 'open') callback(null, { current: 0, ttl: timeWindow });
        else callback(new SecurityError('RAMPART_SECURITY_RATE_LIMIT_UNAVAILABLE', { cause: error }));
      },
    );
  };

  const make = (prefix: string): RateLimitStore => ({
    incr(key, callback, timeWindow) {
      settle(command.rampartRateLimit(prefix + key, timeWindow), callback, timeWindow);
    },
    read(key, callback, timeWindow) {
      settle(command.rampartRateLimitRead(prefix + key), callback, timeWindow);
    },
    child(routeOptions) {
      const route = routeOptions.routeInfo;
      return make(`${prefix}${route?.method ?? ''}${route?.url ?? ''}:`);
    },
  });

  return class RedisRateLimitStore {
    constructor() {
      // biome-ignore lint/correctness/noConstructorReturn: @fastify/rate-limit instantiates the store class itself.
      return make(`${options.prefix}:`);
    }
  } as unknown as new (
    ...args: unknown[]
  ) => RateLimitStore;
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
