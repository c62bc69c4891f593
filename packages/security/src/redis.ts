export {
  createRateLimitRedis,
  RATE_LIMIT_REDIS_DEFAULTS,
  type RateLimitRedisOptions,
} from './rate-limit-redis.ts';
