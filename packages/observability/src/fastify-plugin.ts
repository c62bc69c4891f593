import type { AddressInfo } from 'node:net';
import {
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import type {
  HookHandlerDoneFunction as Done,
  FastifyInstance,
  FastifyPluginCallback,
  FastifyReply,
  FastifyRequest,
} from 'fastify';
import fp from 'fastify-plugin';
import { invalidOptions } from './errors.ts';
import {
  normalizePluginOptions,
  type ObservabilityPluginOptions,
  type ObservabilityRouteConfig,
} from './fastify-options.ts';
import { isValidSpanContext } from './id-tracer.ts';
import { accessLineWriter } from './logger.ts';
import { mountMetrics } from './metrics-mount.ts';
import type { RedSeries } from './red-metrics.ts';
import { createSeriesResolver, type Series } from './route-series.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    observability?: ObservabilityRouteConfig;
  }
  interface FastifyRequest {
    /** The request's server span; not recording when the trace is not sampled. */
    span: Span;
    /** The OpenTelemetry context holding `span`, for work started outside the request's async chain. */
    traceContext: Context;
  }
  interface FastifyInstance {
    /** The separate metrics server's address once ready, when `metricsPort` is set. */
    metricsAddress: AddressInfo | null;
  }
}

const SERVER_SPAN = { kind: SpanKind.SERVER };
const kSeries = Symbol('rampart.observability.series');
const kError = Symbol('rampart.observability.error');
type Slots = { [kSeries]: Series | null; [kError]: (Error & { code?: unknown }) | null };

function register(fastify: FastifyInstance, raw: ObservabilityPluginOptions): void {
  const options = normalizePluginOptions(fastify, raw);
  const resolve = createSeriesResolver(options.metrics.http);
  const tracer = trace.getTracer('@rampart/observability');
  const idHeader = options.requestIdHeader;
  // The access line without pino's general path, when the logger is createLogger's (see accessLineWriter).
  const writeAccessLine = accessLineWriter(fastify.log as Parameters<typeof accessLineWriter>[0]);

  fastify.decorateRequest('span', null as unknown as Span);
  fastify.decorateRequest('traceContext', null as unknown as Context);
  fastify.decorateRequest(kSeries, null);
  fastify.decorateRequest(kError, null);
  fastify.decorate('metricsAddress', null);

  fastify.addHook('onRoute', (route) => {
    const settings = route.config?.observability;
    if (settings === undefined) return;
    if (
      typeof settings !== 'object' ||
      !(settings.accessLog === undefined || typeof settings.accessLog === 'boolean')
    ) {
      throw invalidOptions(`route ${route.url}: config.observability must be { accessLog?: boolean }`);
    }
  });

  fastify.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, next: Done) => {
    const series = resolve(request);
    const parent = propagation.extract(ROOT_CONTEXT, request.headers);
    const span = tracer.startSpan(series.spanName, SERVER_SPAN, parent);
    // Attributes only on spans that are kept: an unsampled request pays for ids and nothing else.
    if (span.isRecording()) span.setAttributes(series.attributes);
    (request as unknown as Slots)[kSeries] = series;
    request.span = span;
    if (idHeader !== false) reply.header(idHeader, request.id);
    // Without tracing the span has no ids: there is no context worth entering, so skip that cost.
    if (!isValidSpanContext(span.spanContext())) {
      request.traceContext = parent;
      return next();
    }
    const active = trace.setSpan(parent, span);
    request.traceContext = active;
    context.with(active, next);
  });

  // A body is read on socket events outside the onRequest chain: enter the context again for the handler.
  fastify.addHook('preHandler', (request: FastifyRequest, _reply: FastifyReply, next: Done) => {
    if (context.active() === request.traceContext) next();
    else context.with(request.traceContext, next);
  });

  fastify.addHook(
    'onError',
    (request: FastifyRequest, _reply: FastifyReply, error: Error & { code?: unknown }, next: Done) => {
      // The span gets the error's type, never its message (messages can quote input). The access line
      // carries the error itself for 5xx, since fastify's own error log is off with request logging.
      (request as unknown as Slots)[kError] = error;
      if (request.span?.isRecording())
        request.span.setAttribute('error.type', String(error.code ?? error.name));
      next();
    },
  );

  fastify.addHook('onResponse', (request: FastifyRequest, reply: FastifyReply, next: Done) => {
    const series = (request as unknown as Slots)[kSeries];
    if (series === null) return next();
    const status = reply.statusCode;
    const ms = reply.elapsedTime;
    (series.red[(status / 100) | 0] ?? (series.red[0] as RedSeries)).observe(ms / 1000);
    const span = request.span;
    if (span.isRecording()) {
      span.setAttribute('http.response.status_code', status);
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.end();
    if (!series.accessLog) return next();
    // The trace ids go first, where the logger's mixin puts them on every other line; given here, the mixin
    // has nothing to look up (same bytes as when it merged its own ids in front of this object).
    const spanContext = span.spanContext();
    const traced = isValidSpanContext(spanContext);
    const duration = Math.round(ms * 1000) / 1000;
    const error = (request as unknown as Slots)[kError];
    if (
      writeAccessLine !== undefined &&
      traced &&
      error === null &&
      status < 500 &&
      series.accessFields !== undefined &&
      request.method === series.attributes['http.request.method'] &&
      writeAccessLine(request.log as Parameters<typeof writeAccessLine>[0], {
        traceId: spanContext.traceId,
        spanId: spanContext.spanId,
        methodAndRoute: series.accessFields,
        status,
        durationMs: duration,
      })
    ) {
      return next();
    }
    const line: Record<string, unknown> = traced
      ? {
          trace_id: spanContext.traceId,
          span_id: spanContext.spanId,
          method: request.method,
          route: series.route,
          status,
          duration_ms: duration,
        }
      : { method: request.method, route: series.route, status, duration_ms: duration };
    if (status >= 500) {
      if (error) line.err = error;
      request.log.error(line, 'request completed');
    } else {
      if (error) line.error_type = String(error.code ?? error.name);
      request.log.info(line, 'request completed');
    }
    next();
  });

  mountMetrics(fastify, options);
}

const plugin: FastifyPluginCallback<ObservabilityPluginOptions> = (fastify, options, done) => {
  try {
    register(fastify, options);
  } catch (error) {
    return done(error as Error);
  }
  done();
};

/**
 * One server span per request named by its route template, the request id echoed, exactly one
 * access-log line, and RED metrics by method, route template and status class; unmatched paths share
 * one `unmatched` label. Create fastify with request logging off and the logger from `createLogger`.
 *
 * @example
 * const app = Fastify({ loggerInstance: logger, logController: new LogController({ disableRequestLogging: true }) });
 * await app.register(observability, { metrics: createMetrics({ service: 'orders' }) });
 */
export const observability = fp(plugin, { fastify: '5.x', name: '@rampart/observability' });
