import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer as createHttpServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer as createTcpServer, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { DiagLogLevel, diag } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../test/support.ts';
import { observability } from './fastify-plugin.ts';
import { startTracing } from './tracing.ts';
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
    await expect(tracing.shutdown()).resolves.toEqual({ timedOut: true });
    // Bounded by its request count; the package's 30-s limit only catches a hang (a busy CI machine needed over 5 s).
  });
});

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
});
