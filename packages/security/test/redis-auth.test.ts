import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createRateLimitRedis } from '../src/rate-limit-redis.ts';
import { buildTestApp, type TestApp } from './app.ts';
import { serviceUrl } from './services.ts';

const redisUrl = serviceUrl('TEST_REDIS_URL');
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe.skipIf(!redisUrl)('API keys and rate limits on a shared Redis', () => {
  it('two instances share the failed-auth limit and the per-key limit', async () => {
    const prefix = `rampart-security-test:${randomUUID()}`;
    const instances: TestApp[] = [];
    for (let index = 0; index < 2; index += 1) {
      const redis = createRateLimitRedis({ url: redisUrl! });
      cleanups.push(() => redis.disconnect());
      const built = await buildTestApp({
        rateLimit: {
          max: 4,
          timeWindowMs: 60_000,
          redis: { client: redis, prefix, failurePolicy: 'closed' },
        },
        auth: { failedAuth: { max: 3, timeWindowMs: 60_000 } },
      });
      cleanups.push(() => built.close());
      instances.push(built);
    }
    const [a, b] = instances as [TestApp, TestApp];
    // Failed authentications from one address, spread over both instances, hit one shared counter.
    const guess = (app: TestApp, remoteAddress: string) =>
      app.app.inject({
        method: 'GET',
        url: '/orders',
        remoteAddress,
        headers: { 'x-api-key': 'rk_live_guess' },
      });
    expect((await guess(a, '198.51.100.30')).statusCode).toBe(401);
    expect((await guess(b, '198.51.100.30')).statusCode).toBe(401);
    expect((await guess(a, '198.51.100.30')).statusCode).toBe(401);
    const blocked = await guess(b, '198.51.100.30');
    expect(blocked.statusCode).toBe(429);
    expect(blocked.json().code).toBe('RAMPART_SECURITY_AUTH_RATE_LIMITED');
    // Where @fastify/rate-limit 11's failed-auth limiter counted, so both versions share it during a rollout.
    const reader = createRateLimitRedis({ url: redisUrl! });
    cleanups.push(() => reader.disconnect());
    await expect.poll(() => reader.status).toBe('ready');
    expect(await reader.get(`${prefix}::authfail:198.51.100.30`)).toBe('3');

    // A valid key is limited by its id, whichever address it comes from.
    const { key } = await a.keys.create({ name: 'r', scopes: ['orders:read'] });
    const get = (remoteAddress: string) =>
      a.app.inject({ method: 'GET', url: '/orders', remoteAddress, headers: { 'x-api-key': key } });
    const codes = [];
    for (const address of [
      '198.51.100.40',
      '198.51.100.41',
      '198.51.100.42',
      '198.51.100.43',
      '198.51.100.44',
    ]) {
      codes.push((await get(address)).statusCode);
    }
    expect(codes).toEqual([200, 200, 200, 200, 429]);
  });
});
