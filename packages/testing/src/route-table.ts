import { channel } from 'node:diagnostics_channel';
import type { FastifyInstance, RouteOptions } from 'fastify';

/** One route as the app registered it (HEAD twins of GET routes left out). */
export interface RouteRecord {
  method: string;
  url: string;
  /** The route's `config` as the app's plugins left it (e.g. `auth`, `rateLimitTier`). */
  config: Record<string, unknown>;
  schema: RouteSchema | undefined;
  bodyLimit: number | undefined;
}

export interface RouteSchema {
  body?: unknown;
  querystring?: unknown;
  params?: unknown;
  headers?: unknown;
  response?: Record<string, unknown>;
}

interface Capture {
  instance: FastifyInstance;
  routes: RouteOptions[];
}

const initialization = channel('fastify.initialization');

/**
 * Runs `build` while listening on fastify's `fastify.initialization` diagnostics channel (the hook APM
 * tools use), so every Fastify instance it creates gets an onRoute hook before its first route: the route
 * table comes from the app itself, never from a list someone keeps by hand.
 */
export async function captureRoutes<T>(
  build: () => Promise<T>,
  appOf: (value: T) => FastifyInstance,
): Promise<{ value: T; routes: () => RouteRecord[] }> {
  const captures: Capture[] = [];
  const onInit = (message: unknown) => {
    const instance = (message as { fastify: FastifyInstance }).fastify;
    const capture: Capture = { instance, routes: [] };
    captures.push(capture);
    instance.addHook('onRoute', (route) => {
      capture.routes.push(route);
    });
  };
  initialization.subscribe(onInit);
  let value: T;
  try {
    value = await build();
  } finally {
    initialization.unsubscribe(onInit);
  }
  const app = appOf(value);
  const capture = captures.find((candidate) => candidate.instance === app);
  return {
    value,
    routes: () => (capture ? toRecords(capture.routes) : []),
  };
}

function toRecords(routes: readonly RouteOptions[]): RouteRecord[] {
  const records: RouteRecord[] = [];
  for (const route of routes) {
    for (const method of [route.method].flat()) {
      // Fastify adds a HEAD twin for every GET; it answers like the GET, so checking the GET suffices.
      if (method === 'HEAD' && routes.some((other) => other.url === route.url && other !== route)) continue;
      records.push({
        method,
        url: route.url,
        config: (route.config ?? {}) as Record<string, unknown>,
        schema: route.schema as RouteSchema | undefined,
        bodyLimit: route.bodyLimit,
      });
    }
  }
  return records;
}
