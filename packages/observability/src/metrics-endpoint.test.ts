import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { buildApp, parseMetrics, promtool } from '../test/support.ts';
import { observability } from './fastify-plugin.ts';
import { createMetrics } from './metrics.ts';

const TOKEN = 'scrape-token-0123456789';

describe('/metrics', () => {
  it('serves the registry on the app, without an access line, and passes promtool check metrics', async () => {
    const { app, logs } = buildApp();
    const metrics = createMetrics({ service: 'test-svc' });
    await app.register(observability, { metrics });
    app.get('/ping', async () => 'pong');
    await app.inject({ url: '/ping' });
    const response = await app.inject({ url: '/metrics' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toContain('text/plain');
    const rows = parseMetrics(response.body);
    expect(rows.some((row) => row.name === 'process_cpu_seconds_total')).toBe(true);
    expect(rows.some((row) => row.name === 'nodejs_eventloop_lag_p99_seconds')).toBe(true);
    expect(rows.find((row) => row.name === 'http_server_requests_total')?.labels.route).toBe('/ping');
    const access = logs.lines.filter((line) => line.msg === 'request completed');
    expect(access).toHaveLength(1);
    // No tracing started in this file: no ids, rather than all-zero ones.
    expect(access[0]).not.toHaveProperty('trace_id');

    const bin = promtool();
    if (bin !== null) {
      const lint = spawnSync(bin, ['check', 'metrics'], { input: response.body, encoding: 'utf8' });
      expect(lint.stdout + lint.stderr).toBe('');
      expect(lint.status).toBe(0);
    }
    await app.close();
  });

  it('answers 401 problem+json without the right bearer token', async () => {
    const { app, metrics } = buildApp();
    await app.register(observability, { metrics, metricsToken: TOKEN });
    for (const authorization of [undefined, 'Bearer wrong', `Basic ${TOKEN}`, `Bearer ${TOKEN}x`]) {
      const response = await app.inject({ url: '/metrics', headers: authorization ? { authorization } : {} });
      expect(response.statusCode).toBe(401);
      expect(response.headers['content-type']).toContain('application/problem+json');
      expect(response.json()).toMatchObject({
        status: 401,
        code: 'RAMPART_OBSERVABILITY_METRICS_UNAUTHORIZED',
      });
    }
    const ok = await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.statusCode).toBe(200);
    await app.close();
  });

  it('serves metrics on a port of their own and nowhere on the app', async () => {
    const { app, metrics } = buildApp();
    await app.register(observability, { metrics, metricsPort: 0, metricsToken: TOKEN });
    app.get('/ping', async () => 'pong');
    await app.ready();
    expect((await app.inject({ url: '/metrics' })).statusCode).toBe(404);
    const address = app.metricsAddress;
    expect(address?.address).toBe('127.0.0.1');
    const base = `http://127.0.0.1:${address?.port}`;
    expect((await fetch(`${base}/metrics`)).status).toBe(401);
    expect((await fetch(`${base}/other`)).status).toBe(404);
    await app.inject({ url: '/ping' });
    const scraped = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(scraped.status).toBe(200);
    expect(await scraped.text()).toContain('route="/ping"');
    await app.close();
    await expect(fetch(`${base}/metrics`)).rejects.toThrow();
  });

  it('fails ready() with a coded error when the metrics port is taken', async () => {
    const taken = createServer();
    taken.listen(0, '127.0.0.1');
    await once(taken, 'listening');
    const { app, metrics } = buildApp();
    await app.register(observability, { metrics, metricsPort: (taken.address() as AddressInfo).port });
    await expect(app.ready()).rejects.toMatchObject({ code: 'RAMPART_OBSERVABILITY_METRICS_LISTEN_FAILED' });
    taken.close();
  });

  it('rejects a malformed per-route setting when the route is added', async () => {
    const { app, metrics } = buildApp();
    await app.register(observability, { metrics });
    expect(() =>
      app.get(
        '/x',
        { config: { observability: { accessLog: 'no' as unknown as boolean } } },
        async () => 'x',
      ),
    ).toThrow(expect.objectContaining({ code: 'RAMPART_OBSERVABILITY_OPTIONS_INVALID' }));
    await app.close();
  });

  it('rejects bad options at register time with a coded error', async () => {
    for (const bad of [{ metricsToken: 'short' }, { metricsPort: 70_000 }, { metricsPath: 'metrics' }]) {
      const { app, metrics } = buildApp();
      await expect(app.register(observability, { metrics, ...bad })).rejects.toMatchObject({
        code: 'RAMPART_OBSERVABILITY_OPTIONS_INVALID',
      });
    }
  });
});
