import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer as createHttpServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer as createTcpServer, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { DiagLogLevel, diag } from '@opentelemetry/api';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { buildApp } from '../test/support.ts';
import { observability } from './fastify-plugin.ts';
import { createMetrics } from './metrics.ts';
import { startTracing, type TracingOptions } from './tracing.ts';
import { readTracingConfig } from './tracing-config.ts';

const register = fileURLToPath(new URL('./bin/register.ts', import.meta.url));
const fixture = fileURLToPath(new URL('../test/fixtures/server.ts', import.meta.url));
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('readTracingConfig', () => {
  it('defaults to no exporter, full parent-based sampling and the undici instrumentation', () => {
    expect(readTracingConfig({})).toEqual({
      enabled: true,
      options: {
        service: 'unknown_service:node',
        resourceAttributes: {},
        sampleRatio: 1,
        parentBased: true,
        exporter: 'none',
        instrumentations: { undici: true, pg: false },
        batch: {},
      },
    });
  });

  it('reads the standard OTEL_* variables', () => {
    const config = readTracingConfig({
      OTEL_SERVICE_NAME: 'orders',
      OTEL_RESOURCE_ATTRIBUTES: 'service.version=1.2.3,deployment.environment.name=prod,team=pay%20ments',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/',
      OTEL_EXPORTER_OTLP_HEADERS: 'x-token=abc',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.1',
      OTEL_BSP_MAX_QUEUE_SIZE: '512',
      OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'undici,pg',
    });
    expect(config).toEqual({
      enabled: true,
      options: {
        service: 'orders',
        serviceVersion: '1.2.3',
        environment: 'prod',
        resourceAttributes: { team: 'pay ments' },
        sampleRatio: 0.1,
        parentBased: true,
        exporter: { otlp: { url: 'http://collector:4318/v1/traces', headers: { 'x-token': 'abc' } } },
        instrumentations: { undici: true, pg: true },
        batch: { maxQueueSize: 512 },
      },
    });
    expect(readTracingConfig({ OTEL_SDK_DISABLED: 'true' })).toMatchObject({ enabled: false });
  });

  it('reads OTEL_TRACES_SAMPLER_ARG alone as the ratio of parentbased_traceidratio, the default sampler at 1', () => {
    expect(readTracingConfig({ OTEL_TRACES_SAMPLER_ARG: '0.1' })).toMatchObject({
      options: { sampleRatio: 0.1, parentBased: true },
    });
    expect(
      readTracingConfig({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '.25' }),
    ).toMatchObject({ options: { sampleRatio: 0.25, parentBased: false } });
  });

  it.each(['always_on', 'always_off', 'parentbased_always_on', 'parentbased_always_off'])(
    'refuses OTEL_TRACES_SAMPLER_ARG beside OTEL_TRACES_SAMPLER=%s, which takes none',
    (sampler) => {
      expect(() =>
        readTracingConfig({ OTEL_TRACES_SAMPLER: sampler, OTEL_TRACES_SAMPLER_ARG: '0.1' }),
      ).toThrow(
        expect.objectContaining({
          code: 'RAMPART_OBSERVABILITY_CONFIG_INVALID',
          message: expect.stringContaining(
            `OTEL_TRACES_SAMPLER=${sampler} takes no argument: set OTEL_TRACES_SAMPLER=parentbased_traceidratio`,
          ),
        }),
      );
    },
  );

  it.each([
    [{ OTEL_TRACES_SAMPLER_ARG: 'abc' }],
    [{ OTEL_TRACES_SAMPLER_ARG: '0x1' }],
    [{ OTEL_TRACES_SAMPLER_ARG: 'Infinity' }],
    [{ OTEL_TRACES_SAMPLER_ARG: '-0.1' }],
    [{ OTEL_TRACES_SAMPLER: 'always_on', OTEL_TRACES_SAMPLER_ARG: 'abc' }],
  ])('checks OTEL_TRACES_SAMPLER_ARG whatever the sampler: %j', (env) => {
    expect(() => readTracingConfig(env)).toThrow(
      expect.objectContaining({
        code: 'RAMPART_OBSERVABILITY_CONFIG_INVALID',
        message: expect.stringContaining('OTEL_TRACES_SAMPLER_ARG='),
      }),
    );
  });

  it('refuses OTEL_TRACES_EXPORTER=memory, which keeps every span: it is for tests, through options', () => {
    expect(() => readTracingConfig({ OTEL_TRACES_EXPORTER: 'memory' })).toThrow(
      expect.objectContaining({
        code: 'RAMPART_OBSERVABILITY_CONFIG_INVALID',
        message: expect.stringMatching(
          /OTEL_TRACES_EXPORTER="memory": .*for tests.*expected none, console or otlp/,
        ),
      }),
    );
  });

  it.each([
    ['OTEL_EXPORTER_OTLP_HEADERS', 'authorization=Bearer%20s3cret-token,s3cret-pasted-alone'],
    ['OTEL_EXPORTER_OTLP_TRACES_HEADERS', 'x-api-key=s3cret-key,authorization: Bearer s3cret=x'],
    ['OTEL_EXPORTER_OTLP_HEADERS', 'x-api-key=s3cret%0Aline'],
    ['OTEL_EXPORTER_OTLP_TRACES_HEADERS', 'x-api-key=s3cret%ZZ'],
  ])('refuses a bad %s without showing a header value', (name, value) => {
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', [name]: value };
    let error: Error | undefined;
    try {
      readTracingConfig(env);
    } catch (thrown) {
      error = thrown as Error;
    }
    expect(error).toMatchObject({ code: 'RAMPART_OBSERVABILITY_CONFIG_INVALID' });
    expect(error?.message).toContain(`${name}: entry `);
    expect(error?.message).not.toContain('s3cret');
  });

  it.each([
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'ftp://rampart:hunter2@collector:4318'],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'http://rampart:hunter2@'],
    ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'http://hunter2@:4318/v1/traces'],
  ])('refuses a bad %s showing its userinfo as ***', (name, value) => {
    expect(() => readTracingConfig({ [name]: value })).toThrow(
      expect.objectContaining({
        code: 'RAMPART_OBSERVABILITY_CONFIG_INVALID',
        message: expect.stringMatching(new RegExp(`${name}="[a-z]+://\\*\\*\\*@[^"]*"`)),
      }),
    );
    expect(() => readTracingConfig({ [name]: value })).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('hunter2') }),
    );
  });

  it('reads the OTLP protocol, compression, timeout and headers variables, traces-specific ones first', () => {
    const config = readTracingConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', // for other signals: the traces one below wins
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
      OTEL_EXPORTER_OTLP_TIMEOUT: '3000',
      OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '2147483647',
      OTEL_EXPORTER_OTLP_HEADERS: 'Authorization=Basic%20general,x-tenant=a',
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'authorization=Bearer%20traces',
    });
    expect(config).toMatchObject({
      options: {
        exporter: {
          otlp: {
            url: 'http://collector:4318/v1/traces',
            headers: { 'x-tenant': 'a', authorization: 'Bearer traces' },
            timeoutMs: 2147483647,
            compression: 'gzip',
          },
        },
      },
    });
  });

  it.each([
    ['OTEL_EXPORTER_OTLP_PROTOCOL', 'grpc', 'set http/json'],
    ['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'http/protobuf', 'set http/json'],
    ['OTEL_EXPORTER_OTLP_COMPRESSION', 'zstd', 'expected gzip or none'],
    ['OTEL_EXPORTER_OTLP_TRACES_COMPRESSION', 'deflate', 'expected gzip or none'],
    ['OTEL_EXPORTER_OTLP_TRACES_HEADERS', 'abc', 'expected comma-separated name=value pairs'],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'http://', 'http(s) URL'],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'http:///', 'no host'],
    ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'http:///v1/traces', 'no host'],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'http://collector:4318?tenant=a', 'query'],
  ])('refuses %s=%s, which the exporter would read differently', (name, value, expected) => {
    expect(() => readTracingConfig({ OTEL_TRACES_EXPORTER: 'otlp', [name]: value })).toThrow(
      expect.objectContaining({
        code: 'RAMPART_OBSERVABILITY_CONFIG_INVALID',
        message: expect.stringMatching(new RegExp(`${name}.*${expected.replace(/[()]/g, '\\$&')}`)),
      }),
    );
  });

  it.each([
    'OTEL_BSP_EXPORT_TIMEOUT',
    'OTEL_BSP_SCHEDULE_DELAY',
    'OTEL_EXPORTER_OTLP_TIMEOUT',
    'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT',
    'OTEL_BSP_MAX_QUEUE_SIZE',
    'OTEL_BSP_MAX_EXPORT_BATCH_SIZE',
  ])(
    'refuses %s past 2^31-1 (Node timers fire after 1 ms past it) and in other forms than digits',
    (name) => {
      const env = {
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
        OTEL_BSP_MAX_QUEUE_SIZE: '2147483647',
      };
      for (const value of ['3000000000', '2147483648', '1e3', '10.0', '0']) {
        expect(() => readTracingConfig({ ...env, [name]: value })).toThrow(
          expect.objectContaining({
            code: 'RAMPART_OBSERVABILITY_CONFIG_INVALID',
            message: expect.stringContaining(`${name}="${value}": expected a whole number of`),
          }),
        );
      }
      expect(readTracingConfig({ ...env, [name]: '2147483647' })).toMatchObject({ enabled: true });
    },
  );

  it('names the OTEL_BSP_* variables when the batch would exceed the queue; a default batch follows a smaller queue', async () => {
    for (const [env, message] of [
      [
        { OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '4096' },
        'OTEL_BSP_MAX_EXPORT_BATCH_SIZE=4096 must not exceed OTEL_BSP_MAX_QUEUE_SIZE (unset: 2048)',
      ],
      [
        { OTEL_BSP_MAX_QUEUE_SIZE: '100', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '200' },
        'OTEL_BSP_MAX_EXPORT_BATCH_SIZE=200 must not exceed OTEL_BSP_MAX_QUEUE_SIZE=100',
      ],
    ] as const) {
      expect(() => readTracingConfig(env)).toThrow(
        expect.objectContaining({
          code: 'RAMPART_OBSERVABILITY_CONFIG_INVALID',
          message: expect.stringContaining(message),
        }),
      );
    }
    const config = readTracingConfig({ OTEL_TRACES_EXPORTER: 'console', OTEL_BSP_MAX_QUEUE_SIZE: '100' });
    if (!config.enabled) throw new Error('tracing should be enabled');
    const tracing = await startTracing(config.options);
    cleanups.push(() => tracing.shutdown());
    await tracing.shutdown();
  });

  it.each([
    ['OTEL_TRACES_SAMPLER', 'sometimes'],
    ['OTEL_TRACES_SAMPLER_ARG', '1.5'],
    ['OTEL_TRACES_EXPORTER', 'zipkin'],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'ftp://x'],
    ['OTEL_BSP_MAX_QUEUE_SIZE', '-1'],
    ['OTEL_NODE_ENABLED_INSTRUMENTATIONS', 'http'],
    ['OTEL_SDK_DISABLED', 'maybe'],
    ['OTEL_RESOURCE_ATTRIBUTES', 'novalue'],
  ])('rejects %s=%s with a coded error naming the variable', (name, value) => {
    const env = { OTEL_TRACES_SAMPLER: 'traceidratio', [name]: value };
    expect(() => readTracingConfig(env)).toThrow(
      expect.objectContaining({
        code: 'RAMPART_OBSERVABILITY_CONFIG_INVALID',
        message: expect.stringContaining(name),
      }),
    );
  });
});

describe('startTracing', () => {
  it('rejects bad options and a second start with coded errors', async () => {
    await expect(startTracing({ service: '' })).rejects.toMatchObject({
      code: 'RAMPART_OBSERVABILITY_OPTIONS_INVALID',
    });
    await expect(startTracing({ service: 's', sampleRatio: 2 })).rejects.toMatchObject({
      code: 'RAMPART_OBSERVABILITY_OPTIONS_INVALID',
    });
    // A minimum batch above the maximum is refused when given; the default follows a smaller maximum.
    await expect(
      startTracing({ service: 's', batch: { maxExportBatchSize: 32, minExportBatchSize: 33 } }),
    ).rejects.toMatchObject({
      code: 'RAMPART_OBSERVABILITY_OPTIONS_INVALID',
      message: expect.stringContaining('minExportBatchSize must not exceed batch.maxExportBatchSize'),
    });
    // (the batcher itself refuses a minimum above the maximum, so this start shows the default followed)
    const small = await startTracing({
      service: 's',
      exporter: 'console',
      batch: { maxExportBatchSize: 32 },
    });
    await small.shutdown();
    const tracing = await startTracing({ service: 's', exporter: 'memory' });
    await expect(startTracing({ service: 's' })).rejects.toMatchObject({
      code: 'RAMPART_OBSERVABILITY_TRACING_STARTED',
    });
    await tracing.shutdown();
  });

  it('refuses an OTLP url without a host, timers past 2^31-1 ms, and never shows a url password', async () => {
    for (const [options, message] of [
      [{ exporter: { otlp: { url: 'http:///v1/traces' } } }, 'it has no host'],
      [{ exporter: { otlp: { url: 'ftp://rampart:hunter2@collector/v1/traces' } } }, '"ftp://***@collector'],
      [{ exporter: { otlp: { url: 'http://c/v1/traces', timeoutMs: 3_000_000_000 } } }, 'timeoutMs must be'],
      [
        { batch: { exportTimeoutMs: 3_000_000_000 } },
        'batch.exportTimeoutMs must be an integer from 1 to 2147483647',
      ],
      [{ shutdownTimeoutMs: 2 ** 31 }, 'shutdownTimeoutMs must be'],
    ] as const) {
      const started = startTracing({ service: 's', ...options } as TracingOptions);
      await expect(started).rejects.toMatchObject({
        code: 'RAMPART_OBSERVABILITY_OPTIONS_INVALID',
        message: expect.stringContaining(message),
      });
      await expect(started).rejects.toMatchObject({ message: expect.not.stringContaining('hunter2') });
    }
  });

  it('sends gzip when compression is gzip, and not when it is unset', async () => {
    const seen: Array<string | undefined> = [];
    const server = createHttpServer((request, response) => {
      seen.push(request.headers['content-encoding']);
      request.resume();
      request.on('end', () => response.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    cleanups.push(() => server.close());
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`;
    for (const compression of ['gzip', undefined] as const) {
      const tracing = await startTracing({
        service: 's',
        exporter: { otlp: { url, ...(compression ? { compression } : {}) } },
        instrumentations: { undici: false },
      });
      cleanups.push(() => tracing.shutdown());
      tracing.tracer.startSpan('one').end();
      await tracing.shutdown();
    }
    expect(seen).toEqual(['gzip', undefined]);
  });

  it('warns of failed exports with the endpoint (userinfo masked) and the status, at most once per 30 s', async () => {
    // A collector that refuses every export: a wrong token is the commonest way to lose every span.
    const requests: IncomingHttpHeaders[] = [];
    const server = createHttpServer((request, response) => {
      requests.push(request.headers);
      request.resume();
      request.on('end', () => response.writeHead(401).end('bad token'));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    cleanups.push(() => server.close());
    const port = (server.address() as AddressInfo).port;
    const warnings: string[] = [];
    const tracing = await startTracing({
      service: 's',
      exporter: {
        otlp: {
          url: `http://rampart:hunter2@127.0.0.1:${port}/v1/traces`,
          headers: { 'x-api-key': 's3cret-key' },
        },
      },
      batch: { maxExportBatchSize: 1, minExportIntervalMs: 1, scheduledDelayMs: 1 },
      instrumentations: { undici: false },
      onExportFailure: (message) => warnings.push(message),
    });
    cleanups.push(() => tracing.shutdown()); // a no-op once shut down: only a failed assertion needs it
    for (let i = 0; i < 4; i++) {
      tracing.tracer.startSpan(`span ${i}`).end();
      await vi.waitFor(() => expect(requests).toHaveLength(i + 1), { timeout: 10_000 });
    }
    expect(requests[0]?.['x-api-key']).toBe('s3cret-key');
    // The same loss as a metric an alert rule reads (TracingSpansLost), not only as a log line.
    const metrics = createMetrics({ service: 's', defaultMetrics: false });
    await vi.waitFor(async () =>
      expect(await spanOutcomes(metrics)).toEqual({ exported: 0, failed: 4, dropped: 0 }),
    );
    await vi.waitFor(() => expect(warnings).toHaveLength(1), { timeout: 10_000 });
    expect(warnings[0]).toBe(
      `@rampart/observability: span export to http://***@127.0.0.1:${port}/v1/traces failed (1 span lost): HTTP 401 Unauthorized`,
    );
    // The other three are held back by the rate limit; shutdown writes them rather than lose them.
    await tracing.shutdown();
    expect(warnings).toHaveLength(2);
    expect(warnings[1]).toBe(
      `@rampart/observability: 3 span exports to http://***@127.0.0.1:${port}/v1/traces failed since the previous warning (3 spans lost); the last: HTTP 401 Unauthorized`,
    );
    expect(warnings.join('\n')).not.toMatch(/hunter2|s3cret/);
  });

  it('samples by the parent flag first, then by ratio, and records only sampled spans', async () => {
    const tracing = await startTracing({ service: 'test-svc', exporter: 'memory', sampleRatio: 0 });
    const { app, metrics, logs } = buildApp();
    await app.register(observability, { metrics });
    app.get('/x', async () => 'ok');
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    await app.inject({ url: '/x' }); // a new trace at ratio 0: not recorded
    await app.inject({ url: '/x', headers: { traceparent: `00-${traceId}-b7ad6b7169203331-01` } });
    await app.inject({ url: '/x', headers: { traceparent: `00-${traceId}-b7ad6b7169203331-00` } });
    await app.close();
    const spans = tracing.memoryExporter?.getFinishedSpans() ?? [];
    expect(spans.map((span) => [span.name, span.spanContext().traceId])).toEqual([['GET /x', traceId]]);
    const lines = logs.lines.filter((line) => line.msg === 'request completed');
    expect(lines.map((line) => line.trace_id)).toEqual([
      expect.stringMatching(/^[0-9a-f]{32}$/),
      traceId,
      traceId,
    ]);
    await tracing.shutdown();

    const always = await startTracing({
      service: 'test-svc',
      exporter: 'memory',
      sampleRatio: 1,
      parentBased: false,
    });
    const second = buildApp();
    await second.app.register(observability, { metrics: second.metrics });
    second.app.get('/x', async () => 'ok');
    await second.app.inject({ url: '/x', headers: { traceparent: `00-${traceId}-b7ad6b7169203331-00` } });
    await second.app.close();
    expect(always.memoryExporter?.getFinishedSpans()).toHaveLength(1); // the ratio overrides the parent
    await always.shutdown();
  });

  it('counts exported spans in tracing_spans_total, from zero again for a tracing started anew', async () => {
    const otlp = await collector();
    const metrics = createMetrics({ service: 's', defaultMetrics: false });
    // No tracing, or one that exports nothing: no series, rather than zeros that say spans are fine.
    expect((await metrics.tracing.spans.get()).values).toEqual([]);
    const memory = await startTracing({
      service: 's',
      exporter: 'memory',
      instrumentations: { undici: false },
    });
    expect((await metrics.tracing.spans.get()).values).toEqual([]);
    await memory.shutdown();

    const start = () =>
      startTracing({
        service: 's',
        exporter: { otlp: { url: `${otlp.url}/v1/traces` } },
        instrumentations: { undici: false },
      });
    const first = await start();
    cleanups.push(() => first.shutdown());
    for (let i = 0; i < 3; i++) first.tracer.startSpan(`a${i}`).end();
    await first.forceFlush();
    expect(await spanOutcomes(metrics)).toEqual({ exported: 3, failed: 0, dropped: 0 });
    const text = await metrics.registry.metrics();
    expect(text).toContain('# TYPE tracing_spans_total counter');
    expect(text).toContain('tracing_spans_total{outcome="exported",service="s"} 3');
    expect(text).toContain('tracing_spans_total{outcome="dropped",service="s"} 0');
    await first.shutdown();

    // A second tracing in the same process starts its totals at 0: the counter adds them, never goes back.
    const second = await start();
    cleanups.push(() => second.shutdown());
    second.tracer.startSpan('b').end();
    await second.forceFlush();
    expect(await spanOutcomes(metrics)).toEqual({ exported: 4, failed: 0, dropped: 0 });
    await second.shutdown();
    expect(otlp.collected.spans).toHaveLength(4);
  });

  it('keeps serving while the collector hangs, and shutdown gives up at its deadline', async () => {
    // A collector that accepts connections and never answers: the worst case for an exporter.
    const sockets = new Set<Socket>();
    const blackhole = createTcpServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
    });
    blackhole.listen(0, '127.0.0.1');
    await once(blackhole, 'listening');
    cleanups.push(() => {
      for (const socket of sockets) socket.destroy();
      blackhole.close();
    });
    const tracing = await startTracing({
      service: 'test-svc',
      exporter: {
        otlp: {
          url: `http://127.0.0.1:${(blackhole.address() as AddressInfo).port}/v1/traces`,
          timeoutMs: 10_000,
        },
      },
      batch: { maxQueueSize: 64, maxExportBatchSize: 32, scheduledDelayMs: 10, exportTimeoutMs: 10_000 },
      shutdownTimeoutMs: 300,
      instrumentations: { undici: false },
    });
    const connected = once(blackhole, 'connection');
    // The SDK reports through diag when the bounded queue starts dropping: read that, not the heap.
    const diagnostics: string[] = [];
    const record = (message: string) => diagnostics.push(message);
    diag.setLogger(
      { error: record, warn: record, info: record, debug: record, verbose: record },
      DiagLogLevel.DEBUG,
    );
    cleanups.push(() => diag.disable());
    const { app, metrics } = buildApp();
    await app.register(observability, { metrics });
    app.get('/ok', async () => 'ok');
    // 500 spans against a queue of 64: the queue fills whatever the exporter does.
    for (let i = 0; i < 500; i++) {
      const response = await app.inject({ url: '/ok' });
      expect(response.statusCode).toBe(200);
    }
    await app.close();
    await connected; // the exporter did reach the collector, which will never answer
    expect(diagnostics).toContain('maxQueueSize reached, dropping spans');
    // 500 sampled spans: at most 64 queued and 32 in the export that hangs, the rest counted as dropped.
    const outcomes = await spanOutcomes(metrics);
    expect(outcomes.exported).toBe(0);
    expect(outcomes.dropped).toBeGreaterThanOrEqual(500 - 64 - 32);
    await expect(tracing.shutdown()).resolves.toEqual({ timedOut: true });
    // Bounded by its request count; the package's 30-s limit only catches a hang (a busy CI machine needed over 5 s).
  });
});

async function spanOutcomes(metrics: ReturnType<typeof createMetrics>): Promise<Record<string, number>> {
  const { values } = await metrics.tracing.spans.get();
  return Object.fromEntries(values.map((value) => [String(value.labels.outcome), value.value]));
}

interface Collected {
  spans: Array<{ traceId: string; name: string; kind: number; parentSpanId?: string }>;
}

function collector(): Promise<{ url: string; collected: Collected }> {
  const collected: Collected = { spans: [] };
  const server = createHttpServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => {
      body += chunk;
    });
    request.on('end', () => {
      const payload = JSON.parse(body) as {
        resourceSpans: Array<{ scopeSpans: Array<{ spans: Collected['spans'] }> }>;
      };
      for (const resource of payload.resourceSpans) {
        for (const scope of resource.scopeSpans) collected.spans.push(...scope.spans);
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  server.listen(0, '127.0.0.1');
  cleanups.push(() => server.close());
  return once(server, 'listening').then(() => ({
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    collected,
  }));
}

function startFixture(env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, ['--import', register, fixture], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  cleanups.push(() => child.kill('SIGKILL'));
  return child;
}

async function readUntil(stream: NodeJS.ReadableStream, pattern: RegExp): Promise<RegExpExecArray> {
  let text = '';
  for await (const chunk of stream) {
    text += String(chunk);
    const match = pattern.exec(text);
    if (match) return match;
  }
  throw new Error(`stream ended before ${pattern}: ${text}`);
}

describe('the register hook', () => {
  it('traces a real process: traceparent in, propagated to the upstream, exported over OTLP, flushed on exit', async () => {
    const otlp = await collector();
    const seen: IncomingHttpHeaders[] = [];
    const upstream = createHttpServer((request, response) => {
      seen.push(request.headers);
      response.end('ok');
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    cleanups.push(() => upstream.close());

    const child = startFixture({
      OTEL_SERVICE_NAME: 'fixture',
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
      OTEL_BSP_SCHEDULE_DELAY: '60000', // only the shutdown flush can deliver the spans
      UPSTREAM_URL: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
    });
    const stdout: string[] = [];
    child.stdout?.on('data', (chunk) => stdout.push(String(chunk)));
    const [, base] = await readUntil(child.stderr as NodeJS.ReadableStream, /listening on (http:\/\/\S+)/);

    const traceId = '0af7651916cd43dd8448eb211c80319c';
    // Twice: the first outbound request installs the undici instrumentation, the second has a client span.
    for (let i = 0; i < 2; i++) {
      const response = await fetch(`${base}/hop`, {
        headers: { traceparent: `00-${traceId}-b7ad6b7169203331-01` },
      });
      expect(await response.json()).toEqual({ upstream: 200 });
    }
    expect(seen).toHaveLength(2);
    for (const headers of seen) {
      expect(headers.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    }

    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number];
    expect(code).toBe(0);
    const names = otlp.collected.spans.filter((span) => span.traceId === traceId).map((span) => span.name);
    expect(names.sort()).toEqual(['GET', 'GET /hop', 'GET /hop']);
    const lines = stdout
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.find((line) => line.msg === 'called upstream')?.trace_id).toBe(traceId);
    expect(lines.filter((line) => line.msg === 'request completed')).toHaveLength(2);
  });

  it('writes one warning line on stderr when the collector refuses exports, with no secret in it', async () => {
    let refused = 0;
    const server = createHttpServer((request, response) => {
      refused += 1;
      request.resume();
      request.on('end', () => response.writeHead(401).end());
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    cleanups.push(() => server.close());
    const port = (server.address() as AddressInfo).port;
    const child = startFixture({
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://rampart:hunter2@127.0.0.1:${port}`,
      OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20s3cret-token',
      OTEL_BSP_SCHEDULE_DELAY: '1',
    });
    let stderr = '';
    child.stderr?.on('data', (chunk) => {
      stderr += String(chunk);
    });
    await vi.waitFor(() => expect(stderr).toMatch(/listening on http:\/\/\S+/), { timeout: 20_000 });
    const base = /listening on (http:\/\/\S+)/.exec(stderr)?.[1];
    for (let i = 0; i < 3; i++) {
      await fetch(`${base}/ok`);
      await vi.waitFor(() => expect(refused).toBe(i + 1), { timeout: 10_000 });
    }
    await vi.waitFor(() => expect(stderr).toContain('span export'), { timeout: 10_000 });
    const warnings = stderr.split('\n').filter((line) => line.includes('span export'));
    expect(warnings).toEqual([
      `@rampart/observability: span export to http://***@127.0.0.1:${port}/v1/traces failed (1 span lost): HTTP 401 Unauthorized`,
    ]);
    expect(stderr).not.toMatch(/hunter2|s3cret/);
  });

  it('refuses to start on a bad OTEL_* variable with one clear line and exit code 1', async () => {
    const child = startFixture({ OTEL_TRACES_SAMPLER: 'sometimes' });
    let stderr = '';
    child.stderr?.on('data', (chunk) => {
      stderr += String(chunk);
    });
    const [code] = (await once(child, 'exit')) as [number];
    expect(code).toBe(1);
    expect(stderr).toMatch(
      /^@rampart\/observability\/register: RAMPART_OBSERVABILITY_CONFIG_INVALID: .*OTEL_TRACES_SAMPLER="sometimes"/,
    );
    expect(stderr).not.toContain('    at ');
  });

  it('names a bad OTEL_EXPORTER_OTLP_HEADERS entry without printing any of it', async () => {
    const child = startFixture({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318',
      OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20s3cret-token,s3cret-pasted-alone',
    });
    let stderr = '';
    child.stderr?.on('data', (chunk) => {
      stderr += String(chunk);
    });
    const [code] = (await once(child, 'exit')) as [number];
    expect(code).toBe(1);
    expect(stderr).toMatch(
      /^@rampart\/observability\/register: RAMPART_OBSERVABILITY_CONFIG_INVALID: .*OTEL_EXPORTER_OTLP_HEADERS: entry 2 of 2 is not name=value: .*\n$/,
    );
    expect(stderr).not.toContain('s3cret');
  });
});
