import Fastify from 'fastify';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { resiliencePlugin } from './fastify.ts';
import { createHealth } from './health.ts';

const apps: Array<{ close(): Promise<unknown> }> = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

async function build(
  options: Parameters<typeof resiliencePlugin>[1] extends infer O ? Partial<O & object> : never,
) {
  const app = Fastify();
  apps.push(app);
  let dbUp = true;
  let shuttingDown = false;
  const health = createHealth({
    version: '2.0.0',
    commit: 'def456',
    checks: [
      {
        name: 'db',
        check: async () => {
          if (!dbUp) throw Object.assign(new Error('down'), { code: 'ECONNREFUSED' });
        },
      },
    ],
    isShuttingDown: () => shuttingDown,
  });
  await app.register(resiliencePlugin, { health, ...options });
  app.get('/work', async () => ({ done: true }));
  app.get('/always', { config: { loadShedding: false } }, async () => ({ done: true }));
  await app.ready();
  return {
    app,
    setDb: (up: boolean) => {
      dbUp = up;
    },
    beginShutdown: () => {
      shuttingDown = true;
    },
  };
}

describe('resiliencePlugin', () => {
  it('serves liveness and readiness with version and commit', async () => {
    const { app, setDb, beginShutdown } = await build({});
    const live = await app.inject('/health/live');
    expect(live.statusCode).toBe(200);
    expect(live.json()).toEqual({ status: 'ok', version: '2.0.0', commit: 'def456' });
    const ready = await app.inject('/health/ready');
    expect(ready.statusCode).toBe(200);
    expect((await app.inject('/work')).headers.connection).not.toBe('close');
    expect(ready.json()).toMatchObject({ status: 'ready', version: '2.0.0', commit: 'def456' });

    setDb(false);
    const notReady = await app.inject('/health/ready');
    expect(notReady.statusCode).toBe(503);
    expect(notReady.json()).toMatchObject({
      status: 'not-ready',
      checks: { db: { reason: 'ECONNREFUSED' } },
    });
    expect((await app.inject('/health/live')).statusCode).toBe(200);

    setDb(true);
    beginShutdown();
    const draining = await app.inject('/health/ready');
    expect(draining.statusCode).toBe(503);
    expect(draining.json()).toMatchObject({ status: 'shutting-down' });
    // Once shutdown began every response ends its connection, so keep-alive clients cannot hold the drain open.
    const during = await app.inject('/work');
    expect(during.statusCode).toBe(200);
    expect(during.headers.connection).toBe('close');
  });

  it('sheds load with 503 problem+json and Retry-After, but never on health or exempt routes', async () => {
    // A 1-byte heap ceiling is always exceeded: the real under-pressure sampler puts the app under pressure.
    const { app } = await build({
      loadShedding: { maxHeapUsedBytes: 1, sampleIntervalMs: 10, retryAfterSeconds: 7 },
    });
    await new Promise((resolve) => setTimeout(resolve, 60));
    const shed = await app.inject('/work');
    expect(shed.statusCode).toBe(503);
    expect(shed.headers['content-type']).toContain('application/problem+json');
    expect(shed.headers['retry-after']).toBe('7');
    // The connection stays open: closing it would make every shed client reconnect at once.
    expect(shed.headers.connection).not.toBe('close');
    expect(shed.json()).toEqual({
      type: 'about:blank',
      title: 'Service Unavailable',
      status: 503,
      code: 'RAMPART_RESILIENCE_OVERLOADED',
      detail: 'the service is overloaded, retry later',
    });
    expect((await app.inject('/health/live')).statusCode).toBe(200);
    expect((await app.inject('/health/ready')).statusCode).toBe(200);
    expect((await app.inject('/always')).statusCode).toBe(200);
  });

  it('logs shedding at most once a second, counting what was shed in between', async () => {
    const lines: Array<{ msg: string; shed?: number; pressure?: string }> = [];
    const app = Fastify({
      logger: { level: 'warn', stream: { write: (line: string) => void lines.push(JSON.parse(line)) } },
    });
    apps.push(app);
    await app.register(resiliencePlugin, {
      health: createHealth({ version: '1', commit: 'c' }),
      loadShedding: { maxHeapUsedBytes: 1, sampleIntervalMs: 10 },
    });
    app.get('/work', async () => ({ done: true }));
    await app.ready();
    await new Promise((resolve) => setTimeout(resolve, 60));
    for (let i = 0; i < 50; i++) expect((await app.inject('/work')).statusCode).toBe(503);
    expect(lines.filter((line) => line.msg === 'load shed')).toEqual([
      expect.objectContaining({ pressure: expect.any(String), shed: 1 }),
    ]);
    const clock = vi.spyOn(Date, 'now').mockReturnValue(Date.now() + 1_001);
    try {
      expect((await app.inject('/work')).statusCode).toBe(503);
    } finally {
      clock.mockRestore();
    }
    expect(lines.filter((line) => line.msg === 'load shed').map((line) => line.shed)).toEqual([1, 50]);
  });

  it('sheds on event-loop delay after the loop was blocked', async () => {
    const { app } = await build({
      loadShedding: { maxEventLoopDelayMs: 20, maxEventLoopUtilization: 0, sampleIntervalMs: 50 },
    });
    await new Promise((resolve) => setTimeout(resolve, 120));
    const until = Date.now() + 400;
    while (Date.now() < until) {
      // a request handler hogging the loop
    }
    // A timer due after the sampler's overdue one: the sampler runs first and records the delay.
    await new Promise((resolve) => setTimeout(resolve, 5));
    const shed = await app.inject('/work');
    expect(shed.statusCode).toBe(503);
    expect(shed.json()).toMatchObject({ code: 'RAMPART_RESILIENCE_OVERLOADED' });
    expect((await app.inject('/health/live')).statusCode).toBe(200);
  });

  it('serves normally when not under pressure', async () => {
    const { app } = await build({ loadShedding: { sampleIntervalMs: 50 } });
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect((await app.inject('/work')).json()).toEqual({ done: true });
  });

  it('keeps the opt-out of a route declared before the plugin', async () => {
    const app = Fastify();
    apps.push(app);
    app.get('/early', { config: { loadShedding: false } }, async () => ({ early: true }));
    app.get('/early-work', async () => ({ early: true }));
    await app.register(resiliencePlugin, {
      health: createHealth({ version: '1', commit: 'c' }),
      loadShedding: { maxHeapUsedBytes: 1, sampleIntervalMs: 10 },
    });
    await app.ready();
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect((await app.inject('/early-work')).statusCode).toBe(503);
    expect((await app.inject('/early')).statusCode).toBe(200);
  });

  it('treats a load-shedding setting set to undefined as not given', async () => {
    const env: Record<string, number | undefined> = {};
    const { app } = await build({
      loadShedding: {
        maxEventLoopDelayMs: env.MAX_DELAY,
        sampleIntervalMs: env.SAMPLE,
        retryAfterSeconds: env.RETRY,
      },
    });
    expect((await app.inject('/work')).statusCode).toBe(200);
  });

  it.each([
    ['healthPrefix without a leading slash', { healthPrefix: 'health' }],
    ['maxEventLoopUtilization above 1', { loadShedding: { maxEventLoopUtilization: 1.5 } }],
    ['maxEventLoopUtilization as a percentage', { loadShedding: { maxEventLoopUtilization: 50 } }],
    ['retryAfterSeconds not a whole number', { loadShedding: { retryAfterSeconds: 0.5 } }],
    ['sampleIntervalMs of 0', { loadShedding: { sampleIntervalMs: 0 } }],
    ['sampleIntervalMs above 2^31-1 ms', { loadShedding: { sampleIntervalMs: 2 ** 31 } }],
    ['maxEventLoopDelayMs as a string', { loadShedding: { maxEventLoopDelayMs: '200' } }],
    ['loadShedding: true', { loadShedding: true }],
  ])('refuses %s with a named error', async (_label, options) => {
    const app = Fastify();
    apps.push(app);
    await expect(
      app
        .register(resiliencePlugin, {
          health: createHealth({ version: '1', commit: 'c' }),
          ...options,
        } as never)
        .ready(),
    ).rejects.toMatchObject({ code: 'RAMPART_RESILIENCE_INVALID_OPTIONS' });
  });

  it('refuses a registration without a health', async () => {
    const app = Fastify();
    apps.push(app);
    await expect(app.register(resiliencePlugin, {} as never).ready()).rejects.toMatchObject({
      code: 'RAMPART_RESILIENCE_INVALID_OPTIONS',
    });
  });
});

// Found by tooling/reliability: /health/live answered 429 once a client address spent the service's rate
// limit, and a kubelet probes every pod on its node from one address.
describe('health routes and rate limiting', () => {
  it('opt out of @fastify/rate-limit through config.rateLimit', async () => {
    const app = Fastify();
    apps.push(app);
    const configs: Record<string, Record<string, unknown>> = {};
    app.addHook('onRoute', (route) => {
      configs[route.url] = (route.config ?? {}) as Record<string, unknown>;
    });
    await app.register(resiliencePlugin, { health: createHealth({ version: '1', commit: 'c' }) });
    await app.ready();
    expect(configs['/health/live']?.rateLimit).toBe(false);
    expect(configs['/health/ready']?.rateLimit).toBe(false);
  });
});
