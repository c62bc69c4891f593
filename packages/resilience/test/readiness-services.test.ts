import { type FaultProxy, requireService, startFaultProxy } from '@rampart/db/testing';
import Fastify, { type FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { resiliencePlugin } from '../src/fastify.ts';
import { createHealth, pgCheck, redisCheck } from '../src/index.ts';
import { startServer } from './child.ts';

const databaseUrl = requireService('PostgreSQL', 'TEST_DATABASE_URL');
const redisUrl = requireService('Redis', 'TEST_REDIS_URL');

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function appWith(checks: Parameters<typeof createHealth>[0]['checks']): Promise<FastifyInstance> {
  const app = Fastify();
  cleanups.push(() => app.close());
  await app.register(resiliencePlugin, {
    health: createHealth({ version: '1.0.0', commit: 'test', checks }),
    loadShedding: false,
  });
  await app.ready();
  return app;
}

/** Polls readiness until it answers `status` (bounded), checking liveness stays 200 on every round. */
async function readinessBecomes(app: FastifyInstance, status: number, liveStatuses: number[]) {
  const until = Date.now() + 8_000;
  for (;;) {
    liveStatuses.push((await app.inject('/health/live')).statusCode);
    const ready = await app.inject('/health/ready');
    if (ready.statusCode === status) return ready.json();
    if (Date.now() > until) throw new Error(`readiness stayed ${ready.statusCode}: ${ready.body}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function proxyTo(url: string): Promise<{ proxy: FaultProxy; url: string }> {
  const proxy = await startFaultProxy(url);
  cleanups.push(() => proxy.close());
  return { proxy, url: proxy.url };
}

describe.skipIf(!databaseUrl)('readiness against PostgreSQL through a cuttable proxy', () => {
  it('goes 503 while PostgreSQL is unreachable and 200 when it is back; liveness stays 200', async () => {
    const { proxy, url } = await proxyTo(databaseUrl as string);
    const pool = new pg.Pool({ connectionString: url, max: 2, connectionTimeoutMillis: 500 });
    pool.on('error', () => {}); // idle clients die with the proxy; the pool replaces them
    cleanups.push(() => pool.end());
    const app = await appWith([pgCheck('db', pool, 800)]);
    const live: number[] = [];

    expect(await readinessBecomes(app, 200, live)).toMatchObject({
      status: 'ready',
      checks: { db: { status: 'ok' } },
    });
    proxy.refuse();
    const down = await readinessBecomes(app, 503, live);
    expect(down).toMatchObject({ status: 'not-ready', checks: { db: { status: 'fail' } } });
    expect(['RAMPART_RESILIENCE_CHECK_FAILED', 'RAMPART_RESILIENCE_CHECK_TIMEOUT']).toContain(
      down.checks.db.code,
    );
    proxy.restore();
    expect(await readinessBecomes(app, 200, live)).toMatchObject({ status: 'ready' });
    expect(live.length).toBeGreaterThan(2);
    expect(new Set(live)).toEqual(new Set([200]));
  }, 30_000);
});

describe.skipIf(!databaseUrl)('a real server process with a pg pool', () => {
  it('is ready with the database, then on SIGTERM runs http, tasks, db, exporters in order and exits 0', async () => {
    const server = await startServer({ DATABASE_URL: databaseUrl as string, GRACE_MS: '5000' });
    cleanups.push(() => {
      if (server.child.exitCode === null) server.child.kill('SIGKILL');
    });
    const ready = await fetch(`${server.address}/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      status: 'ready',
      checks: { db: { status: 'ok' } },
      commit: 'fixture',
    });
    server.child.kill('SIGTERM');
    const exit = await server.exited;
    expect(exit.code).toBe(0);
    const steps = server.lines.filter((line) => line.msg === 'shutdown: step done').map((line) => line.step);
    expect(steps).toEqual(['http', 'tasks', 'db', 'exporters']);
  }, 20_000);
});

describe.skipIf(!redisUrl)('readiness against Redis through a cuttable proxy', () => {
  it('goes 503 while Redis is unreachable and 200 when it is back; liveness stays 200', async () => {
    const { proxy, url } = await proxyTo(redisUrl as string);
    const redis = new Redis(url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => 100,
      lazyConnect: true,
    });
    redis.on('error', () => {}); // reconnects on its own; readiness reports the outage
    cleanups.push(() => redis.disconnect());
    await redis.connect();
    const app = await appWith([redisCheck('redis', redis, 500)]);
    const live: number[] = [];

    await readinessBecomes(app, 200, live);
    proxy.refuse();
    expect(await readinessBecomes(app, 503, live)).toMatchObject({ checks: { redis: { status: 'fail' } } });
    proxy.restore();
    await readinessBecomes(app, 200, live);
    expect(new Set(live)).toEqual(new Set([200]));
  }, 30_000);
});
