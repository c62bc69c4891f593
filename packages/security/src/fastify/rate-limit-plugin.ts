import rateLimit, { type FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { FastifyPluginAsync, FastifyRequest, RouteOptions } from 'fastify';
import fp from 'fastify-plugin';
import type { Redis } from 'ioredis';
import { clientAddressKey, createClientAddressResolver } from '../client-address.ts';
import { SecurityError } from '../errors.ts';
import { createRedisRateLimitStore, type FailurePolicy, waitForRedis } from '../redis-store.ts';

export interface RateLimitTier {
  max: number;
  timeWindowMs: number;
}

export interface RateLimitOptions extends Partial<RateLimitTier> {
  /** Named limits a route picks with `config: { rateLimitTier: 'name' }`. */
  tiers?: Readonly<Record<string, RateLimitTier>>;
  /** Share counters across instances through Redis (see createRateLimitRedis). Default: in memory. */
  redis?: { client: Redis; prefix: string; failurePolicy: FailurePolicy; readyTimeoutMs?: number };
  /** Most clients tracked by the in-memory store (LRU). */
  cacheSize?: number;
  /** Proxies whose X-Forwarded-For is believed (addresses or CIDRs). Default none. */
  trustedProxies?: readonly string[];
  /** IPv6 clients are grouped by this prefix. Default 64. */
  ipv6PrefixBits?: number;
}

export const RATE_LIMIT_DEFAULTS = {
  max: 100,
  timeWindowMs: 60_000,
  cacheSize: 10_000,
  ipv6PrefixBits: 64,
} as const;

declare module 'fastify' {
  interface FastifyContextConfig {
    rateLimitTier?: string;
  }
  interface FastifyRequest {
    /** The client's rate-limit identity by address (IPv6 grouped), after trusted-proxy resolution. */
    clientKey: string;
  }
}

const kClientKey = Symbol('rampart.clientKey');

function invalid(detail: string): SecurityError {
  return new SecurityError('RAMPART_SECURITY_OPTIONS_INVALID', { detail });
}

function checkTier(name: string, tier: RateLimitTier): void {
  if (
    !Number.isInteger(tier.max) ||
    tier.max < 1 ||
    !Number.isInteger(tier.timeWindowMs) ||
    tier.timeWindowMs < 1
  ) {
    throw invalid(`rate limit ${name}: max and timeWindowMs must be positive integers`);
  }
}

const plugin: FastifyPluginAsync<RateLimitOptions> = async (app, options) => {
  const settings = { ...RATE_LIMIT_DEFAULTS, ...options };
  checkTier('default', settings);
  const tiers = settings.tiers ?? {};
  for (const [name, tier] of Object.entries(tiers)) checkTier(name, tier);
  if (settings.redis && (typeof settings.redis.prefix !== 'string' || settings.redis.prefix.length === 0)) {
    throw invalid('redis.prefix is required');
  }
  const resolve = createClientAddressResolver({ trustedProxies: settings.trustedProxies ?? [] });

  // Worked out when first read, not in a hook on every request: the limiter keys an authenticated request by
  // its key id and never asks, so only unauthenticated requests (and failed-auth counting) pay for it.
  app.decorateRequest(kClientKey, null);
  type Slot = { [kClientKey]: string | null };
  app.decorateRequest('clientKey', {
    getter(this: FastifyRequest) {
      const slot = this as unknown as Slot;
      slot[kClientKey] ??= clientAddressKey(
        resolve(this.raw.socket?.remoteAddress ?? this.ip, this.headers['x-forwarded-for']),
        settings.ipv6PrefixBits,
      );
      return slot[kClientKey];
    },
    setter(this: FastifyRequest, value: string) {
      (this as unknown as Slot)[kClientKey] = value;
    },
  });

  // Runs before @fastify/rate-limit's own onRoute hook (registered below), turning a tier name into its config.
  app.addHook('onRoute', (route: RouteOptions) => {
    const name = route.config?.rateLimitTier;
    if (name === undefined) return;
    const tier = tiers[name];
    if (!tier) throw invalid(`${route.method} ${route.url}: unknown rateLimitTier "${name}"`);
    route.config = { ...route.config, rateLimit: { max: tier.max, timeWindow: tier.timeWindowMs } };
  });

  const log = app.log;
  if (settings.redis) {
    // Registration waits briefly for the first connection; if Redis is down the failure policy answers.
    const ready = await waitForRedis(settings.redis.client, settings.redis.readyTimeoutMs ?? 2000);
    if (!ready)
      log.warn({ failurePolicy: settings.redis.failurePolicy }, 'rate limit store not ready at start-up');
  }
  await app.register(rateLimit, {
    global: true,
    max: settings.max,
    timeWindow: settings.timeWindowMs,
    cache: settings.cacheSize,
    enableDraftSpec: true,
    skipOnError: false,
    keyGenerator: (request: FastifyRequest) => {
      const key = (request as FastifyRequest & { apiKey?: { id: string } | null }).apiKey;
      return key ? `key:${key.id}` : `ip:${request.clientKey}`;
    },
    errorResponseBuilder: () => new SecurityError('RAMPART_SECURITY_RATE_LIMITED'),
    ...(settings.redis
      ? {
          // The typings say child() receives the route options; at run time it receives the merged limit
          // params with a `routeInfo` (see @fastify/rate-limit index.js), which is what the store reads.
          store: createRedisRateLimitStore({
            redis: settings.redis.client,
            prefix: settings.redis.prefix,
            failurePolicy: settings.redis.failurePolicy,
            onError: (error) => log.warn({ err: error }, 'rate limit store unavailable'),
          }) as unknown as FastifyRateLimitStoreCtor,
        }
      : {}),
  });
};

/**
 * @fastify/rate-limit keyed by API key id (else client address), with named per-route tiers, a bounded
 * in-memory store or a Redis store with an explicit outage policy, and RateLimit / Retry-After headers.
 */
export const rateLimitPlugin = fp(plugin, { fastify: '5.x', name: '@rampart/security/rate-limit' });
