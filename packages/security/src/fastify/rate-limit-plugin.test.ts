import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { serviceUrl, startTcpProxy, type TcpProxy } from '../../test/services.ts';
import { createRateLimitRedis } from '../rate-limit-redis.ts';
import { createRedisCounterStore, type FailurePolicy, waitForRedis } from '../redis-store.ts';
import { problemErrorsPlugin } from './errors-plugin.ts';
import { securityHeadersPlugin } from './headers-plugin.ts';
import { type RateLimitOptions, rateLimitPlugin } from './rate-limit-plugin.ts';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function build(
  options: RateLimitOptions,
  strictRoute = options.tiers !== undefined,
): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  cleanups.push(() => app.close());
  await app.register(securityHeadersPlugin);
  await app.register(problemErrorsPlugin);
  await app.register(rateLimitPlugin, options);
  app.get('/default', async () => ({ ok: true }));
  if (strictRoute) app.get('/strict', { config: { rateLimitTier: 'strict' } }, async () => ({ ok: true }));
  await app.ready();
  return app;
}

const from = (remoteAddress: string, headers: Record<string, string> = {}) => ({
  method: 'GET' as const,
  url: '/default',
  remoteAddress,
  headers,
});

async function statuses(app: FastifyInstance, count: number, request = from('203.0.113.1')) {
  const out: number[] = [];
  for (let index = 0; index < count; index += 1) out.push((await app.inject(request)).statusCode);
  return out;
}

describe('rateLimitPlugin in memory', () => {
  it('lets max requests through, then 429 problem+json with RateLimit and Retry-After headers', async () => {
    const app = await build({ max: 3, timeWindowMs: 60_000 });
    const first = await app.inject(from('203.0.113.1'));
    expect(first.headers).toMatchObject({ 'ratelimit-limit': '3', 'ratelimit-remaining': '2' });
    expect(await statuses(app, 2)).toEqual([200, 200]);
    const limited = await app.inject(from('203.0.113.1'));
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    expect(limited.json().code).toBe('RAMPART_SECURITY_RATE_LIMITED');
    expect(limited.headers).toMatchObject({ 'ratelimit-limit': '3', 'ratelimit-remaining': '0' });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.headers['x-content-type-options']).toBe('nosniff');
    // Another client is counted on its own.
    expect((await app.inject(from('203.0.113.2'))).statusCode).toBe(200);
  });

  it('writes large counts in plain digits', async () => {
    const app = await build({ max: Number.MAX_SAFE_INTEGER, timeWindowMs: 60_000 });
    const first = await app.inject(from('203.0.113.1'));
    expect(first.headers).toMatchObject({
      'ratelimit-limit': '9007199254740991',
      'ratelimit-remaining': '9007199254740990',
    });
  });

  it('counts down remaining within a window and opens a new window when it ends', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'] });
    cleanups.push(() => vi.useRealTimers());
    const app = await build({ max: 2, timeWindowMs: 10_000 });
    const headers = async () => {
      const response = await app.inject(from('203.0.113.9'));
      return [
        response.statusCode,
        response.headers['ratelimit-remaining'],
        response.headers['ratelimit-reset'],
      ];
    };
    expect(await headers()).toEqual([200, '1', '10']);
    vi.advanceTimersByTime(4_500);
    expect(await headers()).toEqual([200, '0', '6']);
    expect(await headers()).toEqual([429, '0', '6']);
    vi.advanceTimersByTime(5_500);
    expect(await headers()).toEqual([200, '1', '10']);
  });

  it('keeps Retry-After within the window when the wall clock steps back', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'] });
    cleanups.push(() => vi.useRealTimers());
    vi.setSystemTime(new Date('2030-01-01T12:00:00Z'));
    const app = await build({ max: 1, timeWindowMs: 60_000 });
    expect((await app.inject(from('203.0.113.10'))).statusCode).toBe(200);
    vi.setSystemTime(new Date('2030-01-01T11:00:00Z'));
    vi.advanceTimersByTime(1_000);
    const limited = await app.inject(from('203.0.113.10'));
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBe('59');
    vi.advanceTimersByTime(59_000);
    expect((await app.inject(from('203.0.113.10'))).statusCode).toBe(200);
  });

  it('leaves out a route with config.rateLimit false, and refuses any other rateLimit config when the route is added', async () => {
    const app = Fastify({ logger: false });
    cleanups.push(() => app.close());
    await app.register(rateLimitPlugin, { max: 1, timeWindowMs: 60_000 });
    app.get('/probe', { config: { rateLimit: false } as object }, async () => ({ ok: true }));
    await app.ready();
    const probe = { ...from('203.0.113.1'), url: '/probe' };
    expect(await statuses(app, 3, probe)).toEqual([200, 200, 200]);
    expect((await app.inject(probe)).headers['ratelimit-limit']).toBeUndefined();

    const other = Fastify({ logger: false });
    cleanups.push(() => other.close());
    await other.register(rateLimitPlugin, { max: 1, timeWindowMs: 60_000 });
    expect(() =>
      other.get('/x', { config: { rateLimit: { max: 5 } } as object }, async () => ({ ok: true })),
    ).toThrow(
      expect.objectContaining({
        code: 'RAMPART_SECURITY_OPTIONS_INVALID',
        message: expect.stringMatching(/config\.rateLimit takes only false/),
      }),
    );
  });

  it("a GET route's HEAD twin is limited once per request, on the GET's counter, tiered or not", async () => {
    const app = await build({
      max: 3,
      timeWindowMs: 60_000,
      tiers: { strict: { max: 2, timeWindowMs: 60_000 } },
    });
    const head = { ...from('203.0.113.4'), method: 'HEAD' as const };
    const first = await app.inject(head);
    expect(first.statusCode).toBe(200);
    expect(first.headers['ratelimit-remaining']).toBe('2');
    expect((await app.inject(from('203.0.113.4'))).headers['ratelimit-remaining']).toBe('1');
    const strict = { ...from('203.0.113.4'), url: '/strict' };
    expect((await app.inject(strict)).statusCode).toBe(200);
    expect((await app.inject({ ...strict, method: 'HEAD' })).statusCode).toBe(200);
    expect((await app.inject({ ...strict, method: 'HEAD' })).statusCode).toBe(429);
    expect((await app.inject(strict)).statusCode).toBe(429);
  });

  it('refuses a route that both opts out and names a tier, or names a tier that does not exist', async () => {
    const app = Fastify({ logger: false });
    cleanups.push(() => app.close());
    await app.register(rateLimitPlugin, { tiers: { strict: { max: 1, timeWindowMs: 60_000 } } });
    const add = (config: object) => () => app.get(`/r${Math.random()}`, { config }, async () => ({}));
    expect(add({ rateLimit: false, rateLimitTier: 'strict' })).toThrow(/disagree/);
    expect(add({ rateLimit: false, rateLimitTier: 'stirct' })).toThrow(/unknown rateLimitTier "stirct"/);
    expect(add({ rateLimitTier: 'toString' })).toThrow(/unknown rateLimitTier "toString"/);
  });

  it('applies a named tier to its route only', async () => {
    const app = await build({
      max: 10,
      timeWindowMs: 60_000,
      tiers: { strict: { max: 1, timeWindowMs: 60_000 } },
    });
    const strict = { ...from('203.0.113.1'), url: '/strict' };
    expect(await statuses(app, 2, strict)).toEqual([200, 429]);
    expect(await statuses(app, 2)).toEqual([200, 200]);
  });

  it('fails registration on an unknown tier or bad limits', async () => {
    await expect(build({ max: 10, timeWindowMs: 1000 }, true)).rejects.toMatchObject({
      code: 'RAMPART_SECURITY_OPTIONS_INVALID',
    });
    await expect(build({ max: 0, tiers: { strict: { max: 1, timeWindowMs: 1 } } })).rejects.toMatchObject({
      code: 'RAMPART_SECURITY_OPTIONS_INVALID',
    });
  });

  it('groups IPv6 clients by /64: rotating inside the block buys nothing', async () => {
    const app = await build({ max: 2, timeWindowMs: 60_000 });
    expect((await app.inject(from('2001:db8:1:2::1'))).statusCode).toBe(200);
    expect((await app.inject(from('2001:db8:1:2:ffff::7'))).statusCode).toBe(200);
    expect((await app.inject(from('2001:db8:1:2:abcd::9'))).statusCode).toBe(429);
    expect((await app.inject(from('2001:db8:1:3::1'))).statusCode).toBe(200);
  });

  it('believes X-Forwarded-For only from trusted proxies', async () => {
    const app = await build({ max: 1, timeWindowMs: 60_000, trustedProxies: ['10.0.0.0/8'] });
    expect((await app.inject(from('10.0.0.5', { 'x-forwarded-for': '198.51.100.1' }))).statusCode).toBe(200);
    expect((await app.inject(from('10.0.0.5', { 'x-forwarded-for': '198.51.100.2' }))).statusCode).toBe(200);
    expect((await app.inject(from('10.0.0.6', { 'x-forwarded-for': '198.51.100.1' }))).statusCode).toBe(429);
    // An untrusted peer cannot pick its identity by sending the header.
    expect((await app.inject(from('192.0.2.9', { 'x-forwarded-for': '198.51.100.3' }))).statusCode).toBe(200);
    expect((await app.inject(from('192.0.2.9', { 'x-forwarded-for': '198.51.100.4' }))).statusCode).toBe(429);
  });

  it('gives handlers request.clientKey, worked out when read (no hook computes it for every request)', async () => {
    const app = Fastify({ logger: false });
    cleanups.push(() => app.close());
    await app.register(rateLimitPlugin, { trustedProxies: ['10.0.0.0/8'] });
    app.get('/who', async (request) => {
      const first = request.clientKey;
      return { first, again: request.clientKey };
    });
    const who = async (remoteAddress: string, headers: Record<string, string> = {}) =>
      (await app.inject({ url: '/who', remoteAddress, headers })).json();
    expect(await who('10.0.0.5', { 'x-forwarded-for': '198.51.100.1' })).toEqual({
      first: '198.51.100.1',
      again: '198.51.100.1',
    });
    expect(await who('192.0.2.9', { 'x-forwarded-for': '198.51.100.1' })).toMatchObject({
      first: '192.0.2.9',
    });
    expect(await who('2001:db8:1:2::1')).toMatchObject({ first: '2001:db8:1:2:0:0:0:0/64' });
    // The last address's key is reused: the same client again, then others, each get their own.
    expect(await who('2001:db8:1:2::1')).toMatchObject({ first: '2001:db8:1:2:0:0:0:0/64' });
    expect(await who('2001:db8:1:3::1')).toMatchObject({ first: '2001:db8:1:3:0:0:0:0/64' });
    expect(await who('::ffff:192.0.2.9')).toMatchObject({ first: '192.0.2.9' });
    expect(await who('10.0.0.5', { 'x-forwarded-for': '198.51.100.7' })).toMatchObject({
      first: '198.51.100.7',
    });
  });

  it('honours a window of 24 hours, the longest; a limiter asking for more is refused', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'] });
    cleanups.push(() => vi.useRealTimers());
    const app = await build({ max: 1, timeWindowMs: 86_400_000 });
    expect((await app.inject(from('203.0.113.1'))).headers['ratelimit-reset']).toBe('86400');
    vi.advanceTimersByTime(400_000);
    const limited = await app.inject(from('203.0.113.1'));
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBe('86000');
    vi.advanceTimersByTime(86_000_000);
    expect((await app.inject(from('203.0.113.1'))).statusCode).toBe(200);
    // 1e24 ms used to count, with RateLimit-Reset and Retry-After written `1e+21`.
    for (const timeWindowMs of [86_400_001, 1e24, 1.5]) {
      expect(() => app.createRequestLimiter({ max: 1, timeWindowMs })).toThrow(
        expect.objectContaining({
          code: 'RAMPART_SECURITY_OPTIONS_INVALID',
          message: expect.stringMatching(
            /createRequestLimiter: timeWindowMs must be an integer from 1 to 86400000/,
          ),
        }),
      );
    }
  });

  it('stays bounded: the least recently seen client is evicted beyond cacheSize', async () => {
    const app = await build({ max: 1, timeWindowMs: 60_000, cacheSize: 2 });
    expect((await app.inject(from('198.51.100.1'))).statusCode).toBe(200);
    expect((await app.inject(from('198.51.100.1'))).statusCode).toBe(429);
    await app.inject(from('198.51.100.2'));
    await app.inject(from('198.51.100.3'));
    // .1 was pushed out of the 2-entry store, so it starts a fresh window.
    expect((await app.inject(from('198.51.100.1'))).statusCode).toBe(200);
  });
});

describe('rateLimitPlugin options', () => {
  const register = async (options: unknown) => {
    const app = Fastify({ logger: false });
    cleanups.push(() => app.close());
    await app.register(rateLimitPlugin, options as RateLimitOptions);
    await app.ready();
    return app;
  };

  it.each([
    [{ timeWindow: 1000 }, /unknown option "timeWindow"; did you mean timeWindowMs\?/],
    [{ tiers: { strict: { max: 1, timeWindow: 1000 } } }, /did you mean timeWindowMs/],
    [{ tiers: [{ max: 1, timeWindowMs: 1000 }] }, /tiers must be an object/],
    [{ ipv6PrefixBits: 'abc' }, /ipv6PrefixBits/],
    [{ ipv6PrefixBits: 300 }, /ipv6PrefixBits/],
    [{ ipv6PrefixBits: 0 }, /ipv6PrefixBits/],
    [{ max: 0 }, /rate limit options: max must be a positive integer/],
    [{ timeWindowMs: 86_400_001 }, /timeWindowMs must be an integer from 1 to 86400000 \(24 hours\)/],
    [{ timeWindowMs: 1e15 }, /rate limit options: timeWindowMs must be an integer from 1 to 86400000/],
    [
      { tiers: { strict: { max: 1, timeWindowMs: 2 ** 31 } } },
      /tier "strict": timeWindowMs must be an integer/,
    ],
    [{ trustedProxies: ['0.0.0.0/0'] }, /would trust every address/],
    [{ trustedProxies: ['::/0'] }, /would trust every address/],
    [{ trustedProxies: '10.0.0.0/8' }, /trustedProxies must be an array/],
    [{ redis: { prefix: 'x', failurePolicy: 'open' } }, /redis\.client must be an ioredis client/],
    [{ redis: { client: 'redis://127.0.0.1:6379', prefix: 'x', failurePolicy: 'open' } }, /redis\.client/],
    [
      { redis: { client: { once() {}, off() {}, defineCommand() {} }, prefix: 'x', failurePolicy: 'shut' } },
      /failurePolicy/,
    ],
    [
      {
        redis: {
          client: { once() {}, off() {}, defineCommand() {} },
          prefix: 'x',
          failurePolicy: 'open',
          readyTimeoutMs: -1,
        },
      },
      /readyTimeoutMs/,
    ],
  ])('refuses %j at registration with a named error', async (options, message) => {
    await expect(register(options)).rejects.toMatchObject({
      code: 'RAMPART_SECURITY_OPTIONS_INVALID',
      message: expect.stringMatching(message),
    });
  });

  it('gives each named request limiter its own counters, and the same name the same counters', async () => {
    const app = await register({ max: 100, timeWindowMs: 60_000 });
    const search = app.createRequestLimiter({ name: 'search', max: 5, timeWindowMs: 60_000 });
    const signup = app.createRequestLimiter({ name: 'signup', max: 2, timeWindowMs: 1_000 });
    for (let index = 0; index < 5; index += 1) search.hit('client:1.2.3.4');
    expect(signup.hit('client:1.2.3.4')).toMatchObject({ current: 1 });
    expect(app.createRequestLimiter({ name: 'search', max: 5, timeWindowMs: 60_000 })).toBe(search);
    expect(() => app.createRequestLimiter({ name: 'search', max: 6, timeWindowMs: 60_000 })).toThrow(
      expect.objectContaining({ code: 'RAMPART_SECURITY_OPTIONS_INVALID' }),
    );
    expect(() => app.createRequestLimiter({ name: 'a b', max: 6, timeWindowMs: 60_000 })).toThrow(
      expect.objectContaining({ code: 'RAMPART_SECURITY_OPTIONS_INVALID' }),
    );
    // Unnamed: named after its limits, so limiters with other limits count apart.
    const unnamed = app.createRequestLimiter({ max: 3, timeWindowMs: 10_000 });
    expect(unnamed.hit('client:1.2.3.4')).toMatchObject({ current: 1 });
    expect(app.createRequestLimiter({ max: 3, timeWindowMs: 10_000 })).toBe(unnamed);
  });
});

const redisUrl = serviceUrl('TEST_REDIS_URL');

describe.skipIf(!redisUrl)('rateLimitPlugin on Redis', () => {
  const target = () => {
    const url = new URL(redisUrl!);
    return { host: url.hostname, port: Number(url.port || 6379) };
  };

  function client(url: string, commandTimeoutMs = 200): Redis {
    const redis = createRateLimitRedis({ url, commandTimeoutMs, connectTimeoutMs: 500 });
    cleanups.push(() => redis.disconnect());
    return redis;
  }

  async function instance(redis: Redis, prefix: string, failurePolicy: FailurePolicy, max = 5) {
    return build({ max, timeWindowMs: 60_000, redis: { client: redis, prefix, failurePolicy } });
  }

  it('two instances sharing Redis let through exactly max requests per window between them', async () => {
    const prefix = `rampart-security-test:${randomUUID()}`;
    const max = 7;
    const a = await instance(client(redisUrl!), prefix, 'closed', max);
    const b = await instance(client(redisUrl!), prefix, 'closed', max);
    const requests = Array.from({ length: 30 }, (_, index) =>
      (index % 2 === 0 ? a : b).inject(from('198.51.100.7')),
    );
    const codes = (await Promise.all(requests)).map((response) => response.statusCode);
    expect(codes.filter((code) => code === 200)).toHaveLength(max);
    expect(codes.filter((code) => code === 429)).toHaveLength(30 - max);
    const redis = client(redisUrl!);
    await waitForRedis(redis, 2000);
    // The key @fastify/rate-limit 11 used, so instances of either version share one counter in a rollout.
    expect(await redis.keys(`${prefix}:*`)).toEqual([`${prefix}:ip:198.51.100.7`]);
    expect(Number(await redis.get(`${prefix}:ip:198.51.100.7`))).toBe(30);
    await redis.del(...(await redis.keys(`${prefix}:*`)));
  });

  it('counts each request limiter under its own key namespace, as the memory store does', async () => {
    const prefix = `rampart-security-test:${randomUUID()}`;
    const shared = await instance(client(redisUrl!), prefix, 'closed', 100);
    const local = await build({ max: 100, timeWindowMs: 60_000 });
    const run = async (app: FastifyInstance) => {
      const search = app.createRequestLimiter({ name: 'search', max: 5, timeWindowMs: 60_000 });
      const signup = app.createRequestLimiter({ name: 'signup', max: 2, timeWindowMs: 1_000 });
      const unnamed = app.createRequestLimiter({ max: 3, timeWindowMs: 10_000 });
      const counts: number[] = [];
      for (let index = 0; index < 5; index += 1) counts.push((await search.hit('client:1.2.3.4')).current);
      counts.push(
        (await signup.hit('client:1.2.3.4')).current,
        (await unnamed.hit('client:1.2.3.4')).current,
      );
      const state = await signup.peek('client:1.2.3.4');
      return { counts, signupTtlAtMost1s: state.ttlMs <= 1_000 };
    };
    const expected = { counts: [1, 2, 3, 4, 5, 1, 1], signupTtlAtMost1s: true };
    expect(await run(local)).toEqual(expected);
    expect(await run(shared)).toEqual(expected);
    const redis = client(redisUrl!);
    await waitForRedis(redis, 2000);
    expect((await redis.keys(`${prefix}:*`)).sort()).toEqual([
      `${prefix}:limiter:3-per-10000ms:client:1.2.3.4`,
      `${prefix}:limiter:search:client:1.2.3.4`,
      `${prefix}:limiter:signup:client:1.2.3.4`,
    ]);
    await redis.del(...(await redis.keys(`${prefix}:*`)));
  });

  it('refuses a window over 24 hours, which Redis could not honour, and keeps one of exactly 24 hours', async () => {
    const prefix = `rampart-security-test:${randomUUID()}`;
    const redis = client(redisUrl!);
    const tooLong = /timeWindowMs must be an integer from 1 to 86400000 \(24 hours\)/;
    // From about 9.2e18 ms Redis refused the PEXPIRE: every request answered 503 (200 with no limit under
    // 'open'), and the INCR it had counted stayed behind with no expiry.
    for (const timeWindowMs of [1e19, 1e21, 2 ** 31]) {
      await expect(
        build({ max: 5, timeWindowMs, redis: { client: redis, prefix, failurePolicy: 'closed' } }),
      ).rejects.toMatchObject({
        code: 'RAMPART_SECURITY_OPTIONS_INVALID',
        message: expect.stringMatching(tooLong),
      });
      expect(() =>
        createRedisCounterStore({ redis, prefix, windowMs: timeWindowMs, failurePolicy: 'closed' }),
      ).toThrow(expect.objectContaining({ code: 'RAMPART_SECURITY_OPTIONS_INVALID' }));
    }
    const app = await build({
      max: 1,
      timeWindowMs: 86_400_000,
      redis: { client: redis, prefix, failurePolicy: 'closed' },
    });
    const first = await app.inject(from('198.51.100.9'));
    expect(first.statusCode).toBe(200);
    expect(Number(first.headers['ratelimit-reset'])).toBeGreaterThan(86_000);
    expect(Number(first.headers['ratelimit-reset'])).toBeLessThanOrEqual(86_400);
    expect((await app.inject(from('198.51.100.9'))).statusCode).toBe(429);
    const ttl = await redis.pttl(`${prefix}:ip:198.51.100.9`);
    expect(ttl).toBeGreaterThan(86_000_000);
    expect(ttl).toBeLessThanOrEqual(86_400_000);
    await redis.del(...(await redis.keys(`${prefix}:*`)));
  });

  async function outage(policy: FailurePolicy, mode: 'cut' | 'stall') {
    const proxy: TcpProxy = await startTcpProxy(target());
    cleanups.push(() => proxy.close());
    const redis = client(`redis://127.0.0.1:${proxy.port}`);
    const app = await instance(redis, `rampart-security-test:${randomUUID()}`, policy, 100);
    expect((await app.inject(from('198.51.100.8'))).statusCode).toBe(200);
    if (mode === 'cut') await proxy.cut();
    else proxy.stall();
    const started = performance.now();
    const responses = await Promise.all(Array.from({ length: 10 }, () => app.inject(from('198.51.100.8'))));
    const elapsedMs = performance.now() - started;
    console.warn(`redis ${mode}, policy ${policy}: 10 requests answered in ${elapsedMs.toFixed(0)} ms`);
    await proxy.restore();
    return { responses, elapsedMs, app, redis };
  }

  const DRIVER_TEXT = /ECONNREFUSED|ECONNRESET|writeable|offline|timed out|ioredis|redis|Stream|Connection/i;

  it.each([['cut'], ['stall']] as const)(
    'fail-open: with Redis %s, requests pass and none is a 500',
    async (mode) => {
      const { responses, elapsedMs } = await outage('open', mode);
      for (const response of responses) {
        expect(response.statusCode).toBe(200);
        expect(response.body).not.toMatch(DRIVER_TEXT);
        // Nothing is known about the window while the store is down: no headers claiming a fresh one.
        expect(response.headers['ratelimit-remaining']).toBeUndefined();
        expect(response.headers['ratelimit-reset']).toBeUndefined();
      }
      expect(elapsedMs).toBeLessThan(5_000);
    },
  );

  it.each([['cut'], ['stall']] as const)(
    'fail-closed: with Redis %s, requests get 503 problem+json without driver text, then recover',
    async (mode) => {
      const { responses, app, redis } = await outage('closed', mode);
      for (const response of responses) {
        expect(response.statusCode).toBe(503);
        expect(response.json()).toMatchObject({
          code: 'RAMPART_SECURITY_RATE_LIMIT_UNAVAILABLE',
          status: 503,
        });
        expect(response.body).not.toMatch(DRIVER_TEXT);
        expect(response.headers['retry-after']).toBeDefined();
      }
      // Once the proxy is back, ioredis reconnects in the background and limits apply again.
      await expect.poll(() => redis.status, { timeout: 5_000 }).toBe('ready');
      expect((await app.inject(from('198.51.100.8'))).statusCode).toBe(200);
    },
  );
});
