import type { FastifyPluginAsync, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import fp from 'fastify-plugin';
import type { Redis } from 'ioredis';
import { clientAddressKey, createClientAddressResolver } from '../client-address.ts';
import { SecurityError } from '../errors.ts';
import { checkWindowMs, createMemoryCounterStore, type WindowState } from '../rate-limit-store.ts';
import { createRedisCounterStore, type FailurePolicy, isRedisClient, waitForRedis } from '../redis-store.ts';

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
  /** IPv6 clients are grouped by this prefix, 32 to 128. Default 64. */
  ipv6PrefixBits?: number;
}

/** What `createRequestLimiter` takes: a limit, a window, and the name its counters are kept under. */
export interface RequestLimiterOptions extends RateLimitTier {
  /**
   * Its counters' own namespace (1-64 of `A-Z a-z 0-9 . _ -`): two limiters with different names never count
   * into each other, in memory or in Redis (`<prefix>:limiter:<name>:<key>`). Default derived from the limits,
   * `<max>-per-<timeWindowMs>ms`: limiters with the same limits and no name share counters. A name asked for
   * again gives the same counters, and must come with the same limits.
   */
  name?: string;
}

/** The auth plugin's failed-auth limiter: in Redis under `<prefix>::`, where @fastify/rate-limit 11 counted. */
export const FAILED_AUTH_LIMITER = 'authfail';
const LIMITER_NAME = /^[A-Za-z0-9._-]{1,64}$/;
/** Options Fastify's register() itself reads, which reach the plugin with ours. */
const REGISTER_OPTIONS = ['prefix', 'logLevel', 'logSerializers'];
/** Spellings of other rate-limit plugins, and what to write here instead. */
const RENAMED: Readonly<Record<string, string>> = {
  timeWindow: 'timeWindowMs',
  window: 'timeWindowMs',
  windowMs: 'timeWindowMs',
  limit: 'max',
  cache: 'cacheSize',
};

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

/** Refuses a key an options object does not take, naming it and, for a known misspelling, its right name. */
function checkKeys(where: string, value: object, known: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue;
    const instead = Object.hasOwn(RENAMED, key) ? `; did you mean ${RENAMED[key]}?` : '';
    throw invalid(`${where}: unknown option "${key}"${instead}`);
  }
}

function checkTier(name: string, tier: RateLimitTier, extra: readonly string[] = []): void {
  if (typeof tier !== 'object' || tier === null) throw invalid(`rate limit ${name}: must be an object`);
  checkKeys(`rate limit ${name}`, tier, ['max', 'timeWindowMs', ...extra]);
  if (!Number.isInteger(tier.max) || tier.max < 1) {
    throw invalid(`rate limit ${name}: max must be a positive integer`);
  }
  checkWindowMs(`rate limit ${name}: timeWindowMs`, tier.timeWindowMs);
}

/** The counters a route (or the failed-auth check) uses: its limit, its window, its store. */
export interface RequestLimiter {
  readonly max: number;
  readonly timeWindowMs: number;
  /** Counts one request for `key`; synchronous in memory, a promise on Redis. */
  hit(key: string): WindowState | Promise<WindowState>;
  /** The window for `key` as it stands, counting nothing. */
  peek(key: string): WindowState | Promise<WindowState>;
}

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Another set of counters on the rate-limit plugin's store (the auth plugin's failed-auth limit): same
     * memory bound, or the same Redis with the same outage policy.
     */
    createRequestLimiter(options: RequestLimiterOptions): RequestLimiter;
  }
}

type Done = (error?: Error) => void;

function keyOf(request: FastifyRequest): string {
  const key = (request as FastifyRequest & { apiKey?: { id: string } | null }).apiKey;
  return key ? `key:${key.id}` : `ip:${request.clientKey}`;
}

/**
 * The route hook: count the request, set the RateLimit headers (draft spec: limit, remaining, seconds to
 * reset), and past the limit answer 429 with Retry-After. Callback style, so in memory nothing waits for a
 * microtask; a Redis answer continues the request when it arrives.
 */
function limitHook(limiter: RequestLimiter) {
  const limit = String(limiter.max);
  const apply = (state: WindowState, reply: FastifyReply, done: Done) => {
    const reset = String(Math.ceil(state.ttlMs / 1000));
    reply.header('ratelimit-limit', limit);
    if (state.current > limiter.max) {
      reply.header('ratelimit-remaining', '0');
      reply.header('ratelimit-reset', reset);
      reply.header('retry-after', reset);
      done(new SecurityError('RAMPART_SECURITY_RATE_LIMITED'));
      return;
    }
    // toFixed, not String(): V8 keeps String()'s result for each number in its number-string cache, which
    // lives in the old generation, so a new count's string on every request survived the young-generation
    // collection and was promoted (bench/, tracing off, 15 s of load: 22 MiB promoted before, 9 with this).
    reply.header('ratelimit-remaining', (limiter.max - state.current).toFixed(0));
    reply.header('ratelimit-reset', reset);
    done();
  };
  return (request: FastifyRequest, reply: FastifyReply, done: Done) => {
    const state = limiter.hit(keyOf(request));
    if (!(state instanceof Promise)) return apply(state, reply, done);
    // The shared store is down and its policy let the request through: no window to describe.
    const settle = (settled: WindowState) => (settled.current < 0 ? done() : apply(settled, reply, done));
    // A throw after the wait would otherwise be an unhandled rejection and a request left hanging.
    state.then((settled) => guarded(() => settle(settled), done), done);
  };
}

/** Runs a continuation, handing a synchronous throw to `done` as the request's error. */
export function guarded(step: () => void, done: Done): void {
  try {
    step();
  } catch (error) {
    done(error as Error);
  }
}

const OPTION_KEYS = ['tiers', 'redis', 'cacheSize', 'trustedProxies', 'ipv6PrefixBits', ...REGISTER_OPTIONS];

/** Every option checked, so a misconfiguration fails registration with a named error, not a request later. */
function checkOptions(
  options: RateLimitOptions,
  settings: RateLimitOptions & Required<RateLimitTier> & { cacheSize: number; ipv6PrefixBits: number },
) {
  checkTier('options', settings, OPTION_KEYS);
  const tiers = settings.tiers ?? {};
  if (typeof tiers !== 'object' || tiers === null || Array.isArray(tiers)) {
    throw invalid('tiers must be an object of named limits');
  }
  for (const [name, tier] of Object.entries(tiers)) checkTier(`tier "${name}"`, tier);
  if (!Number.isInteger(settings.cacheSize) || settings.cacheSize < 1) {
    throw invalid('cacheSize must be a positive integer');
  }
  const bits = settings.ipv6PrefixBits;
  if (!Number.isInteger(bits) || bits < 32 || bits > 128) {
    throw invalid('ipv6PrefixBits must be an integer from 32 to 128');
  }
  if (options.trustedProxies !== undefined && !Array.isArray(options.trustedProxies)) {
    throw invalid('trustedProxies must be an array of addresses or CIDRs');
  }
  const redis = settings.redis;
  if (redis === undefined) return;
  if (typeof redis !== 'object' || redis === null)
    throw invalid('redis must be { client, prefix, failurePolicy }');
  checkKeys('redis', redis, ['client', 'prefix', 'failurePolicy', 'readyTimeoutMs']);
  if (!isRedisClient(redis.client)) {
    throw invalid('redis.client must be an ioredis client (createRateLimitRedis), not a URL or settings');
  }
  if (typeof redis.prefix !== 'string' || redis.prefix.length === 0)
    throw invalid('redis.prefix is required');
  if (redis.failurePolicy !== 'open' && redis.failurePolicy !== 'closed') {
    throw invalid("redis.failurePolicy must be 'open' or 'closed'");
  }
  const ready = redis.readyTimeoutMs;
  if (ready !== undefined && (!Number.isInteger(ready) || ready < 1 || ready > 60_000)) {
    throw invalid('redis.readyTimeoutMs must be an integer from 1 to 60000');
  }
}

const plugin: FastifyPluginAsync<RateLimitOptions> = async (app, options) => {
  // An option given as undefined takes its default, as one left out does.
  const given = Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
  const settings = { ...RATE_LIMIT_DEFAULTS, ...(given as RateLimitOptions) };
  checkOptions(options, settings);
  const tiers = settings.tiers ?? {};
  const redis = settings.redis;
  const resolve = createClientAddressResolver({ trustedProxies: settings.trustedProxies ?? [] });

  // Worked out when first read, not in a hook on every request: the limiter keys an authenticated request by
  // its key id and never asks, so only unauthenticated requests (and failed-auth counting) pay for it.
  app.decorateRequest(kClientKey, null);
  type Slot = { [kClientKey]: string | null };
  // The last address's key: requests come in runs from one client (a keep-alive connection), and the
  // address checks and IPv6 grouping are the same work each time.
  let lastAddress: string | undefined;
  let lastKey = '';
  app.decorateRequest('clientKey', {
    getter(this: FastifyRequest) {
      const slot = this as unknown as Slot;
      if (slot[kClientKey] === null) {
        const address = resolve(this.raw.socket?.remoteAddress ?? this.ip, this.headers['x-forwarded-for']);
        if (address !== lastAddress) {
          lastKey = clientAddressKey(address, settings.ipv6PrefixBits);
          lastAddress = address;
        }
        slot[kClientKey] = lastKey;
      }
      return slot[kClientKey];
    },
    setter(this: FastifyRequest, value: string) {
      (this as unknown as Slot)[kClientKey] = value;
    },
  });

  const log = app.log;
  if (redis) {
    // Registration waits briefly for the first connection; if Redis is down the failure policy answers.
    const ready = await waitForRedis(redis.client, redis.readyTimeoutMs ?? 2000);
    if (!ready) log.warn({ failurePolicy: redis.failurePolicy }, 'rate limit store not ready at start-up');
  }
  // Redis keys are those @fastify/rate-limit 11 used (`<prefix>:` for the default limit, `<prefix>:<METHOD><url>:`
  // for a tiered route, `<prefix>::` for the failed-auth limit), so instances of either version share counters;
  // every other createRequestLimiter() counts under `<prefix>:limiter:<name>:`. Each namespace has one store,
  // in memory as in Redis, so both count the same.
  const limiter = (tier: RateLimitTier, namespace: string): RequestLimiter => {
    const store = redis
      ? createRedisCounterStore({
          redis: redis.client,
          prefix: `${redis.prefix}:${namespace}`,
          windowMs: tier.timeWindowMs,
          failurePolicy: redis.failurePolicy,
          onError: (error) => log.warn({ err: error }, 'rate limit store unavailable'),
        })
      : createMemoryCounterStore(tier.timeWindowMs, settings.cacheSize);
    return { max: tier.max, timeWindowMs: tier.timeWindowMs, hit: store.hit, peek: store.peek };
  };
  const defaultHook = limitHook(limiter(settings, ''));
  const named = new Map<string, RequestLimiter>();
  app.decorate('createRequestLimiter', (requested: RequestLimiterOptions) => {
    checkTier('createRequestLimiter', requested, ['name']);
    const { max, timeWindowMs } = requested;
    const name = requested.name ?? `${max}-per-${timeWindowMs}ms`;
    if (typeof name !== 'string' || !LIMITER_NAME.test(name)) {
      throw invalid('createRequestLimiter: name must be 1-64 of A-Z a-z 0-9 . _ -');
    }
    const existing = named.get(name);
    if (existing !== undefined) {
      if (existing.max !== max || existing.timeWindowMs !== timeWindowMs) {
        throw invalid(`createRequestLimiter: "${name}" already counts with other limits`);
      }
      return existing;
    }
    const created = limiter({ max, timeWindowMs }, name === FAILED_AUTH_LIMITER ? ':' : `limiter:${name}:`);
    named.set(name, created);
    return created;
  });

  // One limiter per tiered route, shared by a GET and its HEAD (the same resource, asked without a body).
  const tierLimiters = new Map<string, RequestLimiter>();
  app.addHook('onRoute', (route: RouteOptions) => {
    // `config.rateLimit: false` is read untyped: declaring it here would clash with @fastify/rate-limit's own
    // declaration in any program that loads both (the bench does).
    const config = route.config as (typeof route.config & { rateLimit?: unknown }) | undefined;
    const name = config?.rateLimitTier;
    const where = `${route.method} ${route.url}`;
    if (config?.rateLimit !== undefined && config.rateLimit !== false) {
      throw invalid(
        `${where}: config.rateLimit takes only false (no limit); pick a limit with rateLimitTier`,
      );
    }
    if (name !== undefined && !Object.hasOwn(tiers, name)) {
      throw invalid(`${where}: unknown rateLimitTier "${name}"`);
    }
    if (config?.rateLimit === false) {
      if (name !== undefined)
        throw invalid(`${where}: rateLimit: false and rateLimitTier "${name}" disagree`);
      return;
    }
    let hook = defaultHook;
    if (name !== undefined) {
      const method = route.method === 'HEAD' ? 'GET' : route.method;
      const namespace = `${method}${route.url}:`;
      let tierLimiter = tierLimiters.get(namespace);
      if (!tierLimiter) {
        tierLimiter = limiter(tiers[name] as RateLimitTier, namespace);
        tierLimiters.set(namespace, tierLimiter);
      }
      hook = limitHook(tierLimiter);
    }
    const existing = route.onRequest === undefined ? [] : [route.onRequest].flat();
    route.onRequest = [...existing, hook] as RouteOptions['onRequest'];
  });
};

/**
 * Fixed-window rate limits keyed by API key id (else client address), with named per-route tiers, a bounded
 * in-memory store or a Redis store with an explicit outage policy, and RateLimit / Retry-After headers. A route
 * opts out with `config: { rateLimit: false }` (health probes do).
 */
export const rateLimitPlugin = fp(plugin, { fastify: '5.x', name: '@rampart/security/rate-limit' });
