import type { FastifyInstance } from 'fastify';
import { invalidOptions, ObservabilityError } from './errors.ts';
import type { Metrics } from './metrics.ts';

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

export const PLUGIN_DEFAULTS = {
  metricsPath: '/metrics',
  metricsHost: '127.0.0.1',
  requestIdHeader: 'x-request-id',
} as const;

/**
 * fastify 5 takes `disableRequestLogging` either top level (deprecated) or on a `LogController`; the
 * controller sits behind a symbol fastify does not export, so it is found by its description.
 */
function requestLoggingDisabled(fastify: FastifyInstance): boolean {
  if (fastify.initialConfig.disableRequestLogging === true) return true;
  const key = Object.getOwnPropertySymbols(fastify).find(
    (symbol) => symbol.description === 'fastify.logController',
  );
  if (key === undefined) return false;
  const controller = (fastify as unknown as Record<symbol, { disableRequestLogging?: unknown }>)[key];
  return controller?.disableRequestLogging === true;
}

export function normalizePluginOptions(fastify: FastifyInstance, options: ObservabilityPluginOptions) {
  if (!options?.metrics?.registry)
    throw invalidOptions('fastify plugin: metrics (from createMetrics) is required');
  // fastify's own "incoming request" and "request completed" lines would triple the one access line.
  if (!requestLoggingDisabled(fastify)) {
    throw new ObservabilityError('RAMPART_OBSERVABILITY_REQUEST_LOGGING_ENABLED');
  }
  const metricsPath = options.metricsPath ?? PLUGIN_DEFAULTS.metricsPath;
  if (metricsPath !== false && (typeof metricsPath !== 'string' || !metricsPath.startsWith('/'))) {
    throw invalidOptions('fastify plugin: metricsPath must start with / or be false');
  }
  const port = options.metricsPort;
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port < 65536)) {
    throw invalidOptions('fastify plugin: metricsPort must be an integer port (0 picks one)');
  }
  const requestIdHeader = options.requestIdHeader ?? PLUGIN_DEFAULTS.requestIdHeader;
  if (
    requestIdHeader !== false &&
    !(typeof requestIdHeader === 'string' && /^[a-z0-9-]+$/.test(requestIdHeader))
  ) {
    throw invalidOptions('fastify plugin: requestIdHeader must be a lower-case header name or false');
  }
  return {
    metrics: options.metrics,
    metricsPath,
    metricsPort: port,
    metricsHost: options.metricsHost ?? PLUGIN_DEFAULTS.metricsHost,
    metricsToken: options.metricsToken,
    requestIdHeader,
  };
}
