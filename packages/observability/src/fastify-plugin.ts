import type { Server } from 'node:http';
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
  FastifyInstance,
  FastifyPluginCallback,
  FastifyReply,
  FastifyRequest,
  HookHandlerDoneFunction,
} from 'fastify';
import fp from 'fastify-plugin';
import { invalidOptions, ObservabilityError } from './errors.ts';
import type { Metrics } from './metrics.ts';
import { createMetricsResponder, listenMetricsServer } from './metrics-endpoint.ts';
import { createSeriesResolver, type Labels, type Series } from './route-series.ts';

export interface ObservabilityPluginOptions {
  /** The service's metrics from `createMetrics`; RED series are recorded there. */
  metrics: Metrics;
  /** Path of the scrape endpoint, or false for none; default '/metrics'. */
  metricsPath?: string | false;
  /** Serve metrics on this port (0 picks one) of their own instead of the app's. */
  metricsPort?: number;
  /** Interface for `metricsPort`; default '127.0.0.1'. */
  metricsHost?: string;
  /** When set, scrapes must send `Authorization: Bearer <token>` (at least 16 characters). */
  metricsToken?: string;
  /** Response header echoing the request id, or false; default 'x-request-id'. */
  requestIdHeader?: string | false;
}

/** Per-route settings, read from `config.observability` when the route is added. */
export interface ObservabilityRouteConfig {
  /** Write the access-log line for this route; default true (turn off for probes and scrapes). */
  accessLog?: boolean;
}

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

/**
 * fastify 5 takes `disableRequestLogging` either top level (deprecated) or on a `LogController`; the
 * controller sits behind a symbol fastify does not export, so it is found by its description.
 */
function requestLoggingDisabled(fastify: FastifyInstance): boolean {
  if (fastify.initialConfig.disableRequestLogging === true) return true;
  const key = Object.getOwnPropertySymbols(fastify).find(
    (symbol) => symbol.description === 'fastify.logController',
  );
  const controller =
    key === undefined
      ? undefined
      : (fastify as unknown as Record<symbol, { disableRequestLogging?: unknown }>)[key];
  return controller?.disableRequestLogging === true;
}

const plugin: FastifyPluginCallback<ObservabilityPluginOptions> = (fastify, options, done) => {
  if (!options?.metrics?.registry) {
    return done(invalidOptions('fastify plugin: metrics (from createMetrics) is required'));
  }
  if (!requestLoggingDisabled(fastify)) {
    return done(new ObservabilityError('RAMPART_OBSERVABILITY_REQUEST_LOGGING_ENABLED'));
  }
  const metricsPath = options.metricsPath ?? '/metrics';
  if (metricsPath !== false && (typeof metricsPath !== 'string' || !metricsPath.startsWith('/'))) {
    throw invalidOptions('fastify plugin: metricsPath must start with / or be false');
  }
  const { metricsPort, metricsHost = '127.0.0.1' } = options;
  if (
    metricsPort !== undefined &&
    !(Number.isInteger(metricsPort) && metricsPort >= 0 && metricsPort < 65536)
  ) {
    throw invalidOptions('fastify plugin: metricsPort must be an integer port (0 picks one)');
  }
  const idHeader = options.requestIdHeader ?? 'x-request-id';
  const { requests, duration } = options.metrics.http;
  const respond = createMetricsResponder(options.metrics.registry, options.metricsToken);
  const tracer = trace.getTracer('@rampart/observability');

  const resolve = createSeriesResolver();

  fastify.decorateRequest('span', null as unknown as Span);
  fastify.decorateRequest('traceContext', null as unknown as Context);
  fastify.decorateRequest(kSeries, null);
  fastify.decorateRequest(kError, null);
  fastify.decorate('metricsAddress', null);

  fastify.addHook('onRoute', (route) => {
    const settings = route.config?.observability;
    if (
      settings !== undefined &&
      (typeof settings !== 'object' ||
        (settings.accessLog !== undefined && typeof settings.accessLog !== 'boolean'))
    ) {
      throw invalidOptions(`route ${route.url}: config.observability must be { accessLog?: boolean }`);
    }
  });

  fastify.addHook(
    'onRequest',
    (request: FastifyRequest, reply: FastifyReply, next: HookHandlerDoneFunction) => {
      const series = resolve(request);
      const parent = propagation.extract(ROOT_CONTEXT, request.headers);
      const span = tracer.startSpan(series.spanName, SERVER_SPAN, parent);
      // Attributes only on spans that are kept: an unsampled request pays for ids and nothing else.
      if (span.isRecording()) span.setAttributes(series.attributes);
      const active = trace.setSpan(parent, span);
      (request as unknown as Record<symbol, Series>)[kSeries] = series;
      request.span = span;
      request.traceContext = active;
      if (idHeader !== false) reply.header(idHeader, request.id);
      context.with(active, next);
    },
  );

  // A body is read on socket events outside the onRequest chain: enter the context again for the handler.
  fastify.addHook(
    'preHandler',
    (request: FastifyRequest, _reply: FastifyReply, next: HookHandlerDoneFunction) => {
      if (context.active() === request.traceContext) next();
      else context.with(request.traceContext, next);
    },
  );

  fastify.addHook(
    'onError',
    (
      request: FastifyRequest,
      _reply: FastifyReply,
      error: Error & { code?: unknown },
      next: HookHandlerDoneFunction,
    ) => {
      // The span gets the error's type, never its message: messages can quote input. The access line
      // carries the error itself for 5xx, since fastify's own error log is off with request logging.
      (request as unknown as Record<symbol, Error>)[kError] = error;
      if (request.span?.isRecording())
        request.span.setAttribute('error.type', String(error.code ?? error.name));
      next();
    },
  );

  fastify.addHook(
    'onResponse',
    (request: FastifyRequest, reply: FastifyReply, next: HookHandlerDoneFunction) => {
      const series = (request as unknown as Record<symbol, Series | null>)[kSeries];
      if (!series) return next();
      const status = reply.statusCode;
      const ms = reply.elapsedTime;
      const labels = series.labels[(status / 100) | 0] ?? (series.labels[0] as Labels);
      requests.inc(labels);
      duration.observe(labels, ms / 1000);
      const span = request.span;
      if (span.isRecording()) {
        span.setAttribute('http.response.status_code', status);
        if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      }
      span.end();
      if (series.accessLog) {
        const spanContext = span.spanContext();
        const line: Record<string, unknown> = {
          method: request.method,
          route: series.route,
          status,
          duration_ms: Math.round(ms * 1000) / 1000,
          trace_id: spanContext.traceId,
          span_id: spanContext.spanId,
        };
        const error = (request as unknown as Record<symbol, (Error & { code?: unknown }) | null>)[kError];
        if (status >= 500) {
          if (error) line.err = error;
          request.log.error(line, 'request completed');
        } else {
          if (error) line.error_type = String(error.code ?? error.name);
          request.log.info(line, 'request completed');
        }
      }
      next();
    },
  );

  if (metricsPath !== false && metricsPort === undefined) {
    fastify.get(metricsPath, { config: { observability: { accessLog: false } } }, async (request, reply) => {
      const result = await respond(request.headers.authorization);
      return reply.code(result.status).type(result.contentType).send(result.body);
    });
  }
  if (metricsPath !== false && metricsPort !== undefined) {
    let server: Server | undefined;
    fastify.addHook('onReady', async () => {
      const started = await listenMetricsServer(respond, {
        path: metricsPath,
        host: metricsHost,
        port: metricsPort,
      });
      server = started.server;
      fastify.metricsAddress = started.address;
    });
    fastify.addHook('onClose', async () => {
      if (server) await new Promise((resolve) => server?.close(resolve));
      server?.closeAllConnections();
    });
  }
  done();
};

/**
 * One server span per request named by its route template, the request id echoed, exactly one
 * access-log line, and RED metrics by method, route template and status class; unmatched paths share
 * one `unmatched` label. Create fastify with `disableRequestLogging: true` and our logger.
 *
 * @example
 * const app = Fastify({ loggerInstance: createLogger({ service: 'orders', redact: DEFAULT_REDACT_PATHS }), disableRequestLogging: true });
 * await app.register(observability, { metrics: createMetrics({ service: 'orders' }) });
 */
export const observability = fp(plugin, { fastify: '5.x', name: '@rampart/observability' });
