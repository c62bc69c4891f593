import { Redis } from 'ioredis';
import { SecurityError } from './errors.ts';

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
