import { createTestDatabase, type TestDatabase } from '@rampart/db/testing';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp, MIGRATIONS } from '../src/app.ts';
import { parseEnv } from '../src/env.ts';

describe('health routes', () => {
  let app: FastifyInstance;
  let database: TestDatabase;
  let shuttingDown = false;
  beforeEach(async () => {
    shuttingDown = false;
    database = await createTestDatabase({ migrations: MIGRATIONS });
    app = await buildApp({
      env: parseEnv({
        SERVICE_VERSION: '1.2.3',
        GIT_COMMIT: 'abc123',
        LOG_LEVEL: 'silent',
        LOAD_SHEDDING: 'off',
      }),
      database,
      isShuttingDown: () => shuttingDown,
    });
  });
  afterEach(async () => {
    await app.close();
    await database.close();
  });

  it('builds with any REQUEST_TIMEOUT_MS the schema accepts, odd ones too', async () => {
    // Node refuses a checking interval that is not a whole number of milliseconds, at start-up.
    const other = await buildApp({
      env: parseEnv({ LOG_LEVEL: 'silent', REQUEST_TIMEOUT_MS: '1001' }),
      database,
      isShuttingDown: () => false,
    });
    await other.close();
  });

  it('logs why Redis fails, once per cause, instead of only turning readiness red', async () => {
    const lines: string[] = [];
    const other = await buildApp({
      env: parseEnv({ LOG_LEVEL: 'warn', LOAD_SHEDDING: 'off', REDIS_URL: 'redis://127.0.0.1:1' }),
      database,
      logDestination: { write: (line: string) => void lines.push(line) },
      isShuttingDown: () => false,
    });
    try {
      // Reconnects every few hundred milliseconds meanwhile, each refused for the same reason.
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      const failures = lines.filter((line) => line.includes('rate limit store (Redis) failed'));
      expect(failures).toHaveLength(1);
      expect(failures[0]).toContain('ECONNREFUSED');
    } finally {
      await other.close();
    }
  });

  it('reports Redis down in readiness, and answers 503 for it only when the rate limiter fails closed', async () => {
    for (const [policy, status] of [
      ['open', 200],
      ['closed', 503],
    ] as const) {
      const other = await buildApp({
        env: parseEnv({
          LOG_LEVEL: 'silent',
          LOAD_SHEDDING: 'off',
          REDIS_URL: 'redis://127.0.0.1:1',
          RATE_LIMIT_FAILURE_POLICY: policy,
        }),
        database,
        isShuttingDown: () => false,
      });
      try {
        const response = await other.inject({ method: 'GET', url: '/health/ready' });
        expect(response.statusCode, policy).toBe(status);
        expect(response.json().checks.redis).toMatchObject({
          status: 'fail',
          ...(policy === 'open' ? { critical: false } : {}),
        });
      } finally {
        await other.close();
      }
    }
  });

  it('warns that no process runs the tasks when TASKS_IN_PROCESS=false on embedded PGlite', async () => {
    const lines: string[] = [];
    // PGlite whatever TEST_DATABASE_URL says: on PostgreSQL the worker process runs the tasks.
    const embedded = await createTestDatabase({ backend: 'pglite', migrations: MIGRATIONS });
    try {
      const other = await buildApp({
        env: parseEnv({ LOG_LEVEL: 'warn', LOAD_SHEDDING: 'off', TASKS_IN_PROCESS: 'false' }),
        database: embedded,
        logDestination: { write: (line: string) => void lines.push(line) },
        isShuttingDown: () => false,
      });
      await other.close();
    } finally {
      await embedded.close();
    }
    expect(lines.filter((line) => line.includes('no process runs the tasks'))).toHaveLength(1);
  });

  it('answers liveness without a key', async () => {
    const response = await app.inject({ method: 'GET', url: '/health/live' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ status: 'ok', version: '1.2.3', commit: 'abc123' });
  });

  it('answers readiness with the database check', async () => {
    const response = await app.inject({ method: 'GET', url: '/health/ready' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ status: 'ready', checks: { db: { status: 'ok' } } });
  });

  it('turns readiness 503 once shutdown begins, while liveness stays 200', async () => {
    shuttingDown = true;
    const ready = await app.inject({ method: 'GET', url: '/health/ready' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toMatchObject({ status: 'shutting-down' });
    expect((await app.inject({ method: 'GET', url: '/health/live' })).statusCode).toBe(200);
  });

  it('serves RED metrics by route template', async () => {
    await app.inject({ method: 'GET', url: '/health/live' });
    const metrics = await app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toMatch(/http_server_requests_total\{[^}]*route="\/health\/live"/);
  });
});
