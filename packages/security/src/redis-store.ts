import { Redis } from 'ioredis';
import { SecurityError } from './errors.ts';

/** What happens to a request while the rate-limit store is unreachable. */
export type FailurePolicy = 'open' | 'closed';

export interface RateLimitRedisOptions {
  url: string;
  /** A command that gets no reply within this fails, so an outage answers within it. Default 250 ms. */
  commandTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Told about every connection or command failure (log it; never send it to a client). */
  onError?: (error: Error) => void;
}

export const RATE_LIMIT_REDIS_DEFAULTS = { commandTimeoutMs: 250, connectTimeoutMs: 1000 } as const;

/**
 * An ioredis client set up for rate limiting: no offline queue (a command while disconnected fails at once
 * instead of waiting for a reconnect), a command timeout, no per-request retries, background reconnects.
 * It is the real ioredis client; close it with `quit()` or `disconnect()`.
 */
export function createRateLimitRedis(options: RateLimitRedisOptions): Redis {
  const commandTimeout = options.commandTimeoutMs ?? RATE_LIMIT_REDIS_DEFAULTS.commandTimeoutMs;
  const connectTimeout = options.connectTimeoutMs ?? RATE_LIMIT_REDIS_DEFAULTS.connectTimeoutMs;
  if (typeof options.url !== 'string' || !/^rediss?:\/\//.test(options.url)) {
    throw new SecurityError('RAMPART_SECURITY_OPTIONS_INVALID', {
      detail: 'redis url must be redis:// or rediss://',
    });
  }
  for (const [name, value] of [
    ['commandTimeoutMs', commandTimeout],
    ['connectTimeoutMs', connectTimeout],
  ] as const) {
    if (!Number.isInteger(value) || value <= 0) {
      throw new SecurityError('RAMPART_SECURITY_OPTIONS_INVALID', {
        detail: `${name} must be a positive integer`,
      });
    }
  }
  const redis = new Redis(options.url, {
    enableOfflineQueue: false,
    commandTimeout,
    connectTimeout,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
  });
  // Without a listener ioredis prints every connection error to the console.
  redis.on('error', (error: Error) => options.onError?.(error));
  return redis;
}

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
