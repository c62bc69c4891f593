import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { buildApp, parseMetrics } from '../test/support.ts';
import { generateAlertRules } from './alert-rules.ts';
import { generateDashboard } from './dashboard.ts';
import { observability } from './fastify-plugin.ts';
import { createMetrics } from './metrics.ts';
import { createPolicyObserver } from './policy-observer.ts';
import { createQueryObserver } from './query-observer.ts';
import { createTaskObserver } from './task-observer.ts';
import { startTracing } from './tracing.ts';

const description = {
  service: 'orders',
  routes: [
    { method: 'GET', route: '/orders/:id' },
    { method: 'POST', route: '/orders' },
  ],
  tasks: ['send-email', 'charge-card'],
};

/** Metric names used in PromQL selectors (`name{`), reduced to the family they belong to. */
function referencedMetrics(text: string): Set<string> {
  return new Set(
    [...text.replaceAll('\\n', ' ').matchAll(/([a-z_:][a-z0-9_:]*)\{service=/g)].map(
      (match) => match[1] as string,
    ),
  );
}

describe('generateDashboard', () => {
  it('has a RED row per route, a row per task, saturation and database rows', () => {
    const dashboard = generateDashboard(description);
    const rows = dashboard.panels.filter((panel) => panel.type === 'row').map((panel) => panel.title);
    expect(rows).toEqual([
      'Service',
      'GET /orders/:id',
      'POST /orders',
      'Saturation',
      'Database',
      'Dependencies (resilience policies)',
      'Telemetry',
      'Task send-email',
      'Task charge-card',
    ]);
    expect(dashboard.uid).toBe('rampart-orders');
    const ids = dashboard.panels.map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
    const exprs = dashboard.panels.flatMap((panel) => panel.targets ?? []).map((target) => target.expr);
    expect(
      exprs.some((expr) => expr.includes('route="/orders/:id"') && expr.includes('histogram_quantile(0.99')),
    ).toBe(true);
    expect(exprs.every((expr) => expr.includes('service="orders"'))).toBe(true);
    // Panels never overlap: each (x, y) cell is used once.
    const cells = dashboard.panels.map((panel) => `${panel.gridPos.x},${panel.gridPos.y}`);
    expect(new Set(cells).size).toBe(cells.length);
  });

  it('reads only series a real scrape of this package exposes (dashboard and alert rules alike)', async () => {
    // Span outcomes are served while an OTLP exporter runs: a collector that takes every export.
    const collector = createServer((request, response) => {
      request.resume();
      request.on('end', () => response.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
    });
    collector.listen(0, '127.0.0.1');
    await once(collector, 'listening');
    const tracing = await startTracing({
      service: 'orders',
      exporter: { otlp: { url: `http://127.0.0.1:${(collector.address() as AddressInfo).port}/v1/traces` } },
      instrumentations: { undici: false },
    });
    const { app } = buildApp();
    const metrics = createMetrics({ service: 'orders' });
    await app.register(observability, { metrics });
    app.get('/orders/:id', async () => ({ id: 1 }));
    await app.inject({ url: '/orders/1' });
    createQueryObserver({ metrics }).onQuery({
      system: 'pglite',
      operation: 'select',
      sql: 'select 1',
      durationMs: 9,
      ok: true,
      slow: true,
    });
    const policies = createPolicyObserver({ metrics });
    policies.onEvent({ policy: 'payments-api', kind: 'retry' });
    policies.onEvent({ policy: 'payments-api', kind: 'success', durationMs: 12 });
    policies.onEvent({ policy: 'payments-api', kind: 'breaker-open' });
    const tasks = createTaskObserver({ metrics });
    tasks.onJob({ task: 'send-email', jobId: '1', kind: 'active' });
    tasks.onJob({ task: 'send-email', jobId: '1', kind: 'completed', durationMs: 5 });
    const scraped = new Set(
      parseMetrics((await app.inject({ url: '/metrics' })).body).map((row) => row.name),
    );
    await app.close();
    await tracing.shutdown();
    collector.close();

    const used = referencedMetrics(
      JSON.stringify(generateDashboard(description)) + JSON.stringify(generateAlertRules(description)),
    );
    const recorded = [...used].filter((name) => name.startsWith('service:'));
    const missing = [...used].filter((name) => !name.startsWith('service:') && !scraped.has(name));
    expect(used.size).toBeGreaterThan(10);
    expect(recorded.length).toBeGreaterThan(0);
    expect(missing).toEqual([]);
  });

  it('rejects a malformed description with a coded error', () => {
    expect(() => generateDashboard({ service: 'orders', routes: [{ method: 'get', route: '/x' }] })).toThrow(
      expect.objectContaining({ code: 'RAMPART_OBSERVABILITY_OPTIONS_INVALID' }),
    );
    expect(() =>
      generateDashboard({
        service: 'orders',
        routes: [
          { method: 'GET', route: '/x' },
          { method: 'GET', route: '/x' },
        ],
      }),
    ).toThrow(expect.objectContaining({ code: 'RAMPART_OBSERVABILITY_OPTIONS_INVALID' }));
  });
});
