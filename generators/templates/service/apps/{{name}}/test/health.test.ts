import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.ts';
import { parseEnv } from '../src/env.ts';

describe('health routes', () => {
  let app: FastifyInstance;
  beforeEach(async () => {
    app = await buildApp({
      env: parseEnv({ SERVICE_VERSION: '1.2.3', GIT_COMMIT: 'abc123' }),
      logger: false,
    });
  });
  afterEach(() => app.close());

  it('answers liveness', async () => {
    const response = await app.inject({ method: 'GET', url: '/health/live' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok' });
  });

  it('answers readiness with version and commit', async () => {
    const response = await app.inject({ method: 'GET', url: '/health/ready' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ready', version: '1.2.3', commit: 'abc123' });
  });

  it('turns readiness 503 once shutdown begins, while liveness stays 200', async () => {
    app.lifecycle.beginShutdown();
    const ready = await app.inject({ method: 'GET', url: '/health/ready' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toMatchObject({ status: 'shutting-down' });
    const live = await app.inject({ method: 'GET', url: '/health/live' });
    expect(live.statusCode).toBe(200);
  });
});
