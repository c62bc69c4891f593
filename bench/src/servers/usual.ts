// The usual stack: Fastify's request logger (pino, two lines a request), @fastify/helmet,
// @fastify/rate-limit (in memory), prom-client RED metrics with default metrics, and OpenTelemetry's
// Node SDK (preloaded from usual-tracing.ts). The same routes and schemas as every other server.
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import Fastify from 'fastify';
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import {
  announce,
  createItem,
  GET_PATH,
  getItem,
  Item,
  ItemBody,
  ItemParams,
  POST_PATH,
  plainSchema,
} from '../routes.ts';

const registry = new Registry();
collectDefaultMetrics({ register: registry });
const labelNames = ['method', 'route', 'status_code'] as const;
const requests = new Counter({
  name: 'http_requests_total',
  help: 'HTTP requests',
  labelNames,
  registers: [registry],
});
const duration = new Histogram({
  name: 'http_request_duration_seconds',
  help: 'HTTP request duration',
  labelNames,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});

const app = Fastify({ logger: true });
await app.register(helmet);
await app.register(rateLimit, { max: 1_000_000_000, timeWindow: 60_000 });
app.addHook('onResponse', (request, reply, done) => {
  const labels = {
    method: request.method,
    route: request.routeOptions.url ?? 'unmatched',
    status_code: reply.statusCode,
  };
  requests.inc(labels);
  duration.observe(labels, reply.elapsedTime / 1000);
  done();
});
app.get('/metrics', async (_request, reply) =>
  reply.type(registry.contentType).send(await registry.metrics()),
);
app.get(
  GET_PATH,
  { schema: { params: plainSchema(ItemParams), response: { 200: plainSchema(Item) } } },
  async (request) => getItem((request.params as { id: string }).id),
);
app.post(
  POST_PATH,
  { schema: { body: plainSchema(ItemBody), response: { 201: plainSchema(Item) } } },
  async (request, reply) => reply.code(201).send(createItem(request.body as { name: string })),
);
const address = await app.listen({ host: '127.0.0.1', port: 0 });
announce({ port: Number(new URL(address).port) });
process.once('SIGTERM', () => process.exit(0));
