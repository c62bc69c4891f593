import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import Fastify from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildApp, parseMetrics } from '../test/support.ts';
import { observability } from './fastify-plugin.ts';
import { createMetrics } from './metrics.ts';
import { startTracing, type Tracing } from './tracing.ts';

let tracing: Tracing;
beforeAll(async () => {
  tracing = await startTracing({ service: 'test-svc', exporter: 'memory', sampleRatio: 1 });
});
afterAll(async () => {
  await tracing.shutdown();
});
beforeEach(() => tracing.memoryExporter?.reset());

const spans = () => tracing.memoryExporter?.getFinishedSpans() ?? [];
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const traceparent = `00-${TRACE_ID}-00f067aa0ba902b7-01`;

describe('observability plugin', () => {
  it('makes one server span named by route template, one access line, and RED series', async () => {
    const { app, metrics, logs } = buildApp();
    await app.register(observability, { metrics });
    app.get('/users/:id', async (request) => {
      request.log.info('inside handler');
      return { id: (request.params as { id: string }).id };
    });
    const response = await app.inject({ url: '/users/42?x=1', headers: { traceparent } });
    expect(response.statusCode).toBe(200);
    expect(response.headers['x-request-id']).toBeTruthy();

    const server = spans().filter((span) => span.kind === SpanKind.SERVER);
    expect(server).toHaveLength(1);
    const [span] = server;
    expect(span?.name).toBe('GET /users/:id');
    expect(span?.spanContext().traceId).toBe(TRACE_ID);
    expect(span?.parentSpanContext?.spanId).toBe('00f067aa0ba902b7');
    expect(span?.attributes).toMatchObject({
      'http.request.method': 'GET',
      'http.route': '/users/:id',
      'http.response.status_code': 200,
    });

    const access = logs.lines.filter((line) => line.msg === 'request completed');
    expect(access).toHaveLength(1);
    expect(access[0]).toMatchObject({
      route: '/users/:id',
      method: 'GET',
      status: 200,
      trace_id: TRACE_ID,
      service: 'test-svc',
    });
    expect(access[0]?.reqId).toBe(response.headers['x-request-id']);
    // The fields in the order they have always had (the mixin's ids used to be merged in front).
    const raw = logs
      .text()
      .split('\n')
      .find((line) => line.includes('"request completed"')) as string;
    expect(Object.keys(JSON.parse(raw))).toEqual(
      ['level', 'time', 'service', 'reqId', 'trace_id', 'span_id'].concat([
        'method',
        'route',
        'status',
        'duration_ms',
        'msg',
      ]),
    );
    const inside = logs.lines.find((line) => line.msg === 'inside handler');
    expect(inside).toMatchObject({ trace_id: TRACE_ID, span_id: span?.spanContext().spanId });

    const rows = parseMetrics(await metrics.registry.metrics());
    const count = rows.find(
      (row) => row.name === 'http_server_requests_total' && row.labels.route === '/users/:id',
    );
    expect(count).toMatchObject({
      value: 1,
      labels: { method: 'GET', status_class: '2xx', service: 'test-svc' },
    });
    expect(
      rows.find(
        (row) =>
          row.name === 'http_server_request_duration_seconds_count' && row.labels.route === '/users/:id',
      )?.value,
    ).toBe(1);
    await app.close();
  });

  it('collapses 10k random unmatched paths into one series', async () => {
    const { app, metrics } = buildApp();
    await app.register(observability, { metrics });
    app.get('/known', async () => 'ok');
    for (let i = 0; i < 10_000; i++) {
      const response = await app.inject({ url: `/random/${i}/${Math.random().toString(36).slice(2)}` });
      expect(response.statusCode).toBe(404);
    }
    const rows = parseMetrics(await metrics.registry.metrics()).filter(
      (row) => row.name === 'http_server_requests_total',
    );
    expect(rows).toEqual([
      {
        name: 'http_server_requests_total',
        labels: { method: 'GET', route: 'unmatched', status_class: '4xx', service: 'test-svc' },
        value: 10_000,
      },
    ]);
    const names = new Set(spans().map((span) => span.name));
    expect([...names]).toEqual(['GET']);
    await app.close();
  });

  it('keeps the context for handlers of requests with a body, and marks 5xx spans as errors', async () => {
    const { app, metrics, logs } = buildApp();
    await app.register(observability, { metrics });
    app.post('/orders', async (request) => {
      request.log.info('post handler');
      throw Object.assign(new Error('boom with secret-ish detail'), { code: 'ORDERS_BROKEN' });
    });
    const response = await app.inject({
      method: 'POST',
      url: '/orders',
      payload: { a: 1 },
      headers: { traceparent },
    });
    expect(response.statusCode).toBe(500);
    expect(logs.lines.find((line) => line.msg === 'post handler')).toMatchObject({ trace_id: TRACE_ID });
    const [span] = spans();
    expect(span?.status.code).toBe(SpanStatusCode.ERROR);
    expect(span?.attributes['error.type']).toBe('ORDERS_BROKEN');
    expect(JSON.stringify(span?.attributes)).not.toContain('secret-ish');
    const access = logs.lines.filter((line) => line.msg === 'request completed');
    expect(access).toHaveLength(1);
    expect(access[0]).toMatchObject({
      level: 50,
      status: 500,
      route: '/orders',
      err: { code: 'ORDERS_BROKEN' },
    });
    await app.close();
  });

  it('propagates the incoming trace to an outbound fetch and into its log lines', async () => {
    const seen: IncomingHttpHeaders[] = [];
    const upstream = createServer((request, response) => {
      seen.push(request.headers);
      response.end('{}');
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    const port = (upstream.address() as AddressInfo).port;
    const { app, metrics, logs } = buildApp();
    await app.register(observability, { metrics });
    app.get('/hop', async (request) => {
      // The process's first outbound request installs the undici instrumentation (its traceparent is
      // injected by hand); the second one is fully instrumented, with a client span.
      await (await fetch(`http://127.0.0.1:${port}/first`)).text();
      const answer = await fetch(`http://127.0.0.1:${port}/downstream?token=abc`);
      request.log.info('after fetch');
      return { status: answer.status };
    });
    const response = await app.inject({ url: '/hop', headers: { traceparent } });
    expect(response.json()).toEqual({ status: 200 });
    expect(seen).toHaveLength(2);
    for (const headers of seen) {
      expect(headers.traceparent).toMatch(new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-01$`));
    }
    expect(logs.lines.find((line) => line.msg === 'after fetch')).toMatchObject({ trace_id: TRACE_ID });
    const client = spans().find((span) => span.kind === SpanKind.CLIENT);
    expect(client?.spanContext().traceId).toBe(TRACE_ID);
    expect(JSON.stringify(client?.attributes)).not.toContain('abc');
    await app.close();
    upstream.close();
  });

  it('sends one traceparent, its own, when the caller already set one (as the resilient client does)', async () => {
    const seen: IncomingHttpHeaders[] = [];
    const upstream = createServer((request, response) => {
      seen.push(request.headers);
      response.end('{}');
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    const port = (upstream.address() as AddressInfo).port;
    const { app, metrics } = buildApp();
    await app.register(observability, { metrics });
    const stale = '00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01';
    app.get('/twice', async () => {
      // Before the fix the receiver got "traceparent: <ours>, <stale>" and, given two, ignored both.
      for (const path of ['/one', '/two']) {
        await (await fetch(`http://127.0.0.1:${port}${path}`, { headers: { traceparent: stale } })).text();
      }
      return {};
    });
    await app.inject({ url: '/twice', headers: { traceparent } });
    expect(seen).toHaveLength(2);
    for (const headers of seen) {
      expect(headers.traceparent).toMatch(new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-01$`));
    }
    // The instrumented request names its client span as the parent.
    const clientIds = spans()
      .filter((span) => span.kind === SpanKind.CLIENT)
      .map((span) => span.spanContext().spanId);
    expect(clientIds).toContain(String(seen[1]!.traceparent).split('-')[2]);
    await app.close();
    upstream.close();
  });

  it('refuses to run beside fastify request logging, which would double the access lines', async () => {
    const app = Fastify();
    await expect(
      app.register(observability, { metrics: createMetrics({ service: 's', defaultMetrics: false }) }),
    ).rejects.toMatchObject({ code: 'RAMPART_OBSERVABILITY_REQUEST_LOGGING_ENABLED' });
    const legacy = Fastify({ disableRequestLogging: true });
    await legacy.register(observability, { metrics: createMetrics({ service: 's', defaultMetrics: false }) });
    await legacy.close();
  });
});
