import type { Server } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { Metrics } from './metrics.ts';
import { createMetricsResponder, listenMetricsServer } from './metrics-endpoint.ts';

/**
 * Serves the scrape endpoint: a route on the app (no access line), or a bare server on a port of its
 * own, started when fastify is ready and closed with it.
 */
export function mountMetrics(
  fastify: FastifyInstance,
  options: {
    metrics: Metrics;
    metricsPath: string | false;
    metricsPort: number | undefined;
    metricsHost: string;
    metricsToken: string | undefined;
  },
): void {
  const { metricsPath, metricsPort } = options;
  const respond = createMetricsResponder(options.metrics.registry, options.metricsToken);
  if (metricsPath === false) return;
  if (metricsPort === undefined) {
    fastify.get(metricsPath, { config: { observability: { accessLog: false } } }, async (request, reply) => {
      const result = await respond(request.headers.authorization);
      return reply.code(result.status).type(result.contentType).send(result.body);
    });
    return;
  }
  let server: Server | undefined;
  fastify.addHook('onReady', async () => {
    const started = await listenMetricsServer(respond, {
      path: metricsPath,
      host: options.metricsHost,
      port: metricsPort,
    });
    server = started.server;
    fastify.metricsAddress = started.address;
  });
  fastify.addHook('onClose', async () => {
    if (server === undefined) return;
    const closing = new Promise((done) => server?.close(done));
    server.closeAllConnections();
    await closing;
  });
}
