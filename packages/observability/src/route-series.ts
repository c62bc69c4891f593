import { isPlainJsonText } from './logger.ts';
import type { RedMetrics, RedSeries } from './red-metrics.ts';

/** Everything one (route, method) pair needs per request, built once on its first request. */
export interface Series {
  route: string;
  spanName: string;
  attributes: { 'http.request.method': string; 'http.route'?: string };
  accessLog: boolean;
  /** `,"method":…,"route":…` as the access line writes them, when neither needs escaping (see logger.ts). */
  accessFields: string | undefined;
  /** RED series indexed by status / 100; index 0 takes anything outside 1xx..5xx. */
  red: RedSeries[];
}

/** What the resolver reads from a request: fastify's own fields, nothing it must allocate for. */
export interface RouteLookup {
  method: string;
  is404: boolean;
  routeOptions: { config: { url?: string; observability?: { accessLog?: boolean } } };
}

export const UNMATCHED_ROUTE = 'unmatched';
const STATUS_CLASSES = ['other', '1xx', '2xx', '3xx', '4xx', '5xx'];
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT']);

function seriesOf(red: RedMetrics, method: string, route: string, accessLog: boolean): Series {
  const attributes: Series['attributes'] = { 'http.request.method': method };
  if (route !== UNMATCHED_ROUTE) attributes['http.route'] = route;
  return {
    route,
    spanName: route === UNMATCHED_ROUTE ? method : `${method} ${route}`,
    attributes,
    accessLog,
    accessFields:
      isPlainJsonText(method) && isPlainJsonText(route)
        ? `,"method":"${method}","route":"${route}"`
        : undefined,
    red: STATUS_CLASSES.map((statusClass) => red.series(method, route, statusClass)),
  };
}

/**
 * Maps a request to its series: by route template for matched routes, and one shared `unmatched` route
 * per standard method (anything else is `_OTHER`) for the rest, so random paths never add series.
 * Series are keyed by the route's own config object, a fixed set: memory does not grow with traffic.
 */
export function createSeriesResolver(red: RedMetrics): (request: RouteLookup) => Series {
  const byRoute = new WeakMap<object, Record<string, Series>>();
  const unmatched: Record<string, Series> = Object.create(null);
  return (request) => {
    const method = request.method;
    if (request.is404) {
      const key = METHODS.has(method) ? method : '_OTHER';
      unmatched[key] ??= seriesOf(red, key, UNMATCHED_ROUTE, true);
      return unmatched[key];
    }
    const config = request.routeOptions.config;
    let methods = byRoute.get(config);
    if (methods === undefined) {
      methods = Object.create(null) as Record<string, Series>;
      byRoute.set(config, methods);
    }
    methods[method] ??= seriesOf(
      red,
      method,
      config.url ?? UNMATCHED_ROUTE,
      config.observability?.accessLog !== false,
    );
    return methods[method];
  };
}
