import { createRequire } from 'node:module';
import { context, propagation, type Tracer, type TracerProvider, trace } from '@opentelemetry/api';
import type { ExportResult } from '@opentelemetry/core';
import type {
  InMemorySpanExporter,
  TracerProvider as SdkTracerProvider,
  SpanExporter,
  SpanProcessor,
} from '@opentelemetry/sdk-trace';
import { invalidOptions, ObservabilityError } from './errors.ts';
import { type ExportFailureReporter, exportFailureReporter } from './export-failures.ts';
import { idOnlyTracerProvider } from './id-tracer.ts';
import { endpointProblem, maskUserinfo, userinfoSecrets } from './otlp-endpoint.ts';
import { instrumentUndiciOnFirstUse } from './outbound-propagation.ts';
import { samplingTracerProvider } from './sampling-tracer.ts';
import { SpanBatcher } from './span-batcher.ts';
import { type SpanCounts, TRACING_SLOT } from './span-counts.ts';

/** Where sampled spans go. `otlp` sends OTLP over HTTP with JSON (http/json), gzipped with `compression: 'gzip'`. */
export type TracingExporter =
  | 'none'
  | 'console'
  | 'memory'
  | {
      otlp: {
        url: string;
        headers?: Record<string, string>;
        timeoutMs?: number;
        compression?: 'gzip' | 'none';
      };
    };

type OtlpOptions = Extract<TracingExporter, object>['otlp'];

export interface TracingOptions {
  /** `service.name` on every span. */
  service: string;
  serviceVersion?: string;
  /** `deployment.environment.name`. */
  environment?: string;
  /** More resource attributes (OTEL_RESOURCE_ATTRIBUTES). */
  resourceAttributes?: Record<string, string>;
  /** Share of new traces recorded, 0..1; default 1. */
  sampleRatio?: number;
  /** Follow the caller's sampled flag when a request carries `traceparent`; default true. */
  parentBased?: boolean;
  /**
   * Where spans go; default 'none': ids are still made and propagated (logs carry them) but nothing is
   * recorded and the SDK is not even loaded, so tracing costs almost nothing until an exporter is chosen.
   */
  exporter?: TracingExporter;
  /** Outbound fetch/undici spans and traceparent injection (default true); pg client spans (default false). */
  instrumentations?: { undici?: boolean; pg?: boolean };
  /**
   * The batch queue: spans beyond maxQueueSize are dropped, never buffered without bound. An export starts
   * as soon as minExportBatchSize spans wait, none is in flight and minExportIntervalMs has passed since the
   * last; spans arriving meanwhile gather for the next, up to maxExportBatchSize (see SpanBatcher).
   */
  batch?: {
    maxQueueSize?: number;
    maxExportBatchSize?: number;
    minExportBatchSize?: number;
    minExportIntervalMs?: number;
    scheduledDelayMs?: number;
    exportTimeoutMs?: number;
  };
  /** shutdown() gives up flushing after this long; default 5000. */
  shutdownTimeoutMs?: number;
  /**
   * Receives a warning (one line) when span exports fail: refused, unauthorized, unreachable or timed out.
   * The first comes at once, then at most one every 30 s, counting the exports and spans lost since the
   * previous one; it names the endpoint without its userinfo and never shows a header value. Default: the
   * line on stderr.
   */
  onExportFailure?: (message: string) => void;
}

export const TRACING_DEFAULTS = {
  sampleRatio: 1,
  parentBased: true,
  exporter: 'none',
  instrumentations: { undici: true, pg: false },
  batch: {
    maxQueueSize: 2048,
    maxExportBatchSize: 512,
    minExportBatchSize: 64,
    minExportIntervalMs: 10,
    scheduledDelayMs: 2000,
    exportTimeoutMs: 5000,
  },
  shutdownTimeoutMs: 5000,
  otlpTimeoutMs: 5000,
} as const;

/** The running tracing setup: the real provider and tracer, plus a bounded shutdown. */
export interface Tracing {
  /** The SDK provider, or with `exporter: 'none'` the ids-only one (no SDK loaded). */
  provider: TracerProvider;
  tracer: Tracer;
  /** Set when `exporter` is 'memory': read finished spans in tests. */
  memoryExporter: InMemorySpanExporter | undefined;
  forceFlush(): Promise<void>;
  /** Flushes and stops within `shutdownTimeoutMs`; `timedOut` says whether spans may have been lost. */
  shutdown(): Promise<{ timedOut: boolean }>;
  /**
   * Sampled spans exported, lost to failed exports and dropped from a full queue since start (a copy);
   * undefined when nothing batches spans (`exporter: 'none'` or `'memory'`). createMetrics serves these as
   * `tracing_spans_total{outcome}`.
   */
  spanCounts(): SpanCounts | undefined;
}

const require = createRequire(import.meta.url);
const GLOBAL_KEY = TRACING_SLOT;
type GlobalSlot = { [GLOBAL_KEY]?: Tracing };

/** The tracing started in this process (by the register hook or `startTracing`), if any. */
export function getTracing(): Tracing | undefined {
  return (globalThis as GlobalSlot)[GLOBAL_KEY];
}

/** Node's timers fire after 1 ms when given a longer delay; sizes share the bound. */
const MAX_INT = 2_147_483_647;

function positiveInt(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0 || value > MAX_INT) {
    throw invalidOptions(
      `tracing: ${name} must be an integer from 1 to ${MAX_INT}, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

function normalize(options: TracingOptions) {
  if (typeof options?.service !== 'string' || options.service.length === 0) {
    throw invalidOptions('tracing: service must be a non-empty string');
  }
  const sampleRatio = options.sampleRatio ?? TRACING_DEFAULTS.sampleRatio;
  if (typeof sampleRatio !== 'number' || !(sampleRatio >= 0 && sampleRatio <= 1)) {
    throw invalidOptions(
      `tracing: sampleRatio must be a number in [0, 1], got ${JSON.stringify(sampleRatio)}`,
    );
  }
  const exporter = options.exporter ?? TRACING_DEFAULTS.exporter;
  if (typeof exporter === 'object') {
    const url: unknown = exporter.otlp?.url;
    const problem = typeof url === 'string' ? endpointProblem(url) : 'expected an http(s) URL';
    if (problem !== undefined) {
      // Shown without its userinfo: an endpoint's password must never reach a log.
      const shown = typeof url === 'string' ? JSON.stringify(maskUserinfo(url)) : String(url);
      throw invalidOptions(`tracing: exporter.otlp.url ${shown}: ${problem}`);
    }
    if (exporter.otlp.timeoutMs !== undefined)
      positiveInt('exporter.otlp.timeoutMs', exporter.otlp.timeoutMs);
    const { compression } = exporter.otlp;
    if (compression !== undefined && compression !== 'gzip' && compression !== 'none') {
      throw invalidOptions(
        `tracing: exporter.otlp.compression must be 'gzip' or 'none', got ${JSON.stringify(compression)}`,
      );
    }
  } else if (!['none', 'console', 'memory'].includes(exporter)) {
    throw invalidOptions(
      `tracing: exporter must be 'none', 'console', 'memory' or { otlp }, got ${JSON.stringify(exporter)}`,
    );
  }
  const batch = { ...TRACING_DEFAULTS.batch, ...options.batch };
  for (const [name, value] of Object.entries(batch)) positiveInt(`batch.${name}`, value);
  // Only a size given explicitly is a mistake; the default follows a smaller queue (and the minimum, below,
  // a smaller maximum).
  if (batch.maxExportBatchSize > batch.maxQueueSize) {
    if (options.batch?.maxExportBatchSize !== undefined) {
      throw invalidOptions('tracing: batch.maxExportBatchSize must not exceed batch.maxQueueSize');
    }
    batch.maxExportBatchSize = batch.maxQueueSize;
  }
  if (batch.minExportBatchSize > batch.maxExportBatchSize) {
    // Only a minimum given explicitly is a mistake; the default follows a smaller maximum.
    if (options.batch?.minExportBatchSize !== undefined) {
      throw invalidOptions('tracing: batch.minExportBatchSize must not exceed batch.maxExportBatchSize');
    }
    batch.minExportBatchSize = batch.maxExportBatchSize;
  }
  return {
    service: options.service,
    serviceVersion: options.serviceVersion,
    environment: options.environment,
    resourceAttributes: options.resourceAttributes ?? {},
    sampleRatio,
    parentBased: options.parentBased ?? TRACING_DEFAULTS.parentBased,
    exporter,
    undici: options.instrumentations?.undici ?? TRACING_DEFAULTS.instrumentations.undici,
    pg: options.instrumentations?.pg ?? TRACING_DEFAULTS.instrumentations.pg,
    batch,
    shutdownTimeoutMs: positiveInt(
      'shutdownTimeoutMs',
      options.shutdownTimeoutMs ?? TRACING_DEFAULTS.shutdownTimeoutMs,
    ),
    onExportFailure: exportFailureSink(options.onExportFailure),
  };
}

function exportFailureSink(given: unknown): (message: string) => void {
  if (given === undefined) return (message) => process.stderr.write(`${message}\n`);
  if (typeof given !== 'function') throw invalidOptions('tracing: onExportFailure must be a function');
  return given as (message: string) => void;
}

/**
 * The OTLP exporter and its transformer take longer to load than the rest of the SDK together (about
 * 55 ms here), and nothing is exported before the first batch: load it then, off the start-up path.
 */
function lazyOtlpExporter(otlp: OtlpOptions, failed: ExportResult['code']): SpanExporter {
  let real: Promise<SpanExporter> | undefined;
  const load = () => {
    real ??= import('@opentelemetry/exporter-trace-otlp-http').then(
      ({ OTLPTraceExporter }) =>
        // All four are given, so the exporter's own reading of the OTEL_* variables (which readTracingConfig
        // has checked) never overrides them: an unset compression is 'none', not whatever the environment says.
        new OTLPTraceExporter({
          url: otlp.url,
          headers: { ...otlp.headers },
          timeoutMillis: otlp.timeoutMs ?? TRACING_DEFAULTS.otlpTimeoutMs,
          // The exporter's type is an enum of these two strings.
          compression: (otlp.compression ?? 'none') as NonNullable<
            ConstructorParameters<typeof OTLPTraceExporter>[0]
          >['compression'],
        }),
    );
    return real;
  };
  return {
    export(spans, resultCallback) {
      load().then(
        (exporter) => exporter.export(spans, resultCallback),
        (error: Error) => resultCallback({ code: failed, error }),
      );
    },
    shutdown: async () => {
      if (real) await (await real).shutdown();
    },
    forceFlush: async () => {
      if (real) await (await real).forceFlush?.();
    },
  };
}

/** Outbound spans keep the URL without its query string: tokens often travel there. */
function redactOutboundQuery(
  span: { isRecording(): boolean; setAttribute(key: string, value: string): unknown },
  request: { origin: string; path: string },
): void {
  if (!span.isRecording()) return;
  const query = request.path.indexOf('?');
  if (query === -1) return;
  span.setAttribute('url.full', `${request.origin}${request.path.slice(0, query)}`);
  span.setAttribute('url.query', '[REDACTED]');
}

/**
 * Starts OpenTelemetry tracing for this process: W3C trace context in and out, a parent-based ratio
 * sampler, the chosen exporter behind a bounded batch queue, and only the instrumentations asked for.
 * The SDK is loaded on demand, so importing this package costs nothing when tracing stays off.
 *
 * @example
 * const tracing = await startTracing({ service: 'orders', exporter: 'memory' });
 * // ... later
 * await tracing.shutdown();
 */
export async function startTracing(options: TracingOptions): Promise<Tracing> {
  const config = normalize(options);
  if (getTracing()) throw new ObservabilityError('RAMPART_OBSERVABILITY_TRACING_STARTED');

  // The CommonJS builds: the SDK is dozens of small files, which load about a third faster through
  // require than as ES modules (bench/ cold start). @opentelemetry/api keeps its state on a global,
  // so these share it with the ESM copy the rest of the package imports.
  const core = require('@opentelemetry/core') as typeof import('@opentelemetry/core');
  const hooks =
    require('@opentelemetry/context-async-hooks') as typeof import('@opentelemetry/context-async-hooks');

  let memoryExporter: InMemorySpanExporter | undefined;
  let sdkProvider: SdkTracerProvider | undefined;
  let reporter: ExportFailureReporter | undefined;
  let batcher: SpanBatcher | undefined;
  if (config.exporter !== 'none') {
    const sdk = require('@opentelemetry/sdk-trace') as typeof import('@opentelemetry/sdk-trace');
    const resources = require('@opentelemetry/resources') as typeof import('@opentelemetry/resources');
    let exporter: SpanExporter;
    if (config.exporter === 'memory') exporter = memoryExporter = new sdk.InMemorySpanExporter();
    else if (config.exporter === 'console') exporter = new sdk.ConsoleSpanExporter();
    else exporter = lazyOtlpExporter(config.exporter.otlp, core.ExportResultCode.FAILED);

    let processor: SpanProcessor;
    if (config.exporter === 'memory') processor = new sdk.SimpleSpanProcessor({ exporter });
    else {
      const otlp = config.exporter === 'console' ? undefined : config.exporter.otlp;
      reporter = exportFailureReporter({
        target: otlp ? maskUserinfo(otlp.url) : 'stdout',
        secrets: otlp ? [...Object.values(otlp.headers ?? {}), ...userinfoSecrets(otlp.url)] : [],
        write: config.onExportFailure,
      });
      processor = batcher = new SpanBatcher(
        { exporter, ...config.batch, onExportFailure: reporter.failed },
        core,
      );
    }
    const attributes: Record<string, string> = {
      ...config.resourceAttributes,
      'service.name': config.service,
    };
    if (config.serviceVersion) attributes['service.version'] = config.serviceVersion;
    if (config.environment) attributes['deployment.environment.name'] = config.environment;
    sdkProvider = new sdk.TracerProvider({
      // samplingTracerProvider decides; whatever reaches the SDK is recorded.
      sampler: new sdk.AlwaysOnSampler(),
      resource: resources.resourceFromAttributes(attributes),
      spanProcessors: [processor],
    });
  }
  const provider: TracerProvider = sdkProvider
    ? samplingTracerProvider(sdkProvider, config.sampleRatio, config.parentBased)
    : idOnlyTracerProvider;
  const contextManager = new hooks.AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(new core.W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);

  const disablers: Array<() => void> = [];
  if (config.undici) disablers.push(instrumentUndiciOnFirstUse(provider, redactOutboundQuery));
  if (config.pg) {
    // pg is loaded while the service starts, so this one has to hook `require` up front.
    const { registerInstrumentations } =
      require('@opentelemetry/instrumentation') as typeof import('@opentelemetry/instrumentation');
    const { PgInstrumentation } =
      require('@opentelemetry/instrumentation-pg') as typeof import('@opentelemetry/instrumentation-pg');
    // Statement text only: parameter values never become attributes.
    const pg = new PgInstrumentation({ enhancedDatabaseReporting: false });
    disablers.push(registerInstrumentations({ instrumentations: [pg], tracerProvider: provider }));
  }

  let stopped: Promise<{ timedOut: boolean }> | undefined;
  const tracing: Tracing = {
    provider,
    tracer: provider.getTracer('@rampart/observability'),
    memoryExporter,
    forceFlush: async () => {
      await sdkProvider?.forceFlush();
    },
    spanCounts: () => (batcher ? { ...batcher.counts } : undefined),
    shutdown() {
      stopped ??= (async () => {
        let timer: NodeJS.Timeout | undefined;
        const deadline = new Promise<'timeout'>((resolve) => {
          timer = setTimeout(resolve, config.shutdownTimeoutMs, 'timeout');
          timer.unref();
        });
        const flushed = (sdkProvider?.shutdown() ?? Promise.resolve()).then(
          () => 'done' as const,
          () => 'done' as const,
        );
        const outcome = await Promise.race([flushed, deadline]);
        clearTimeout(timer);
        reporter?.flush(); // failures held back by the rate limit, which the process would otherwise lose
        for (const disable of disablers) disable();
        trace.disable();
        propagation.disable();
        context.disable();
        delete (globalThis as GlobalSlot)[GLOBAL_KEY];
        return { timedOut: outcome === 'timeout' };
      })();
      return stopped;
    },
  };
  (globalThis as GlobalSlot)[GLOBAL_KEY] = tracing;
  return tracing;
}
