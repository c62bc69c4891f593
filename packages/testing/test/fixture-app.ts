// A small service built like a generated one, from the real Rampart plugins, with switches that remove
// one piece each: the kit's own tests prove every check fails when its piece is missing.
import { audit, auditLog, migrationsFolder as dbMigrations } from '@rampart/db';
import { createTestDatabase, type TestDatabase } from '@rampart/db/testing';
import { createLogger, createMetrics, DEFAULT_REDACT_PATHS, type Tracing } from '@rampart/observability';
import { observability } from '@rampart/observability/fastify';
import { createHealth } from '@rampart/resilience';
import { resiliencePlugin } from '@rampart/resilience/fastify';
import {
  type ApiKeyVerifier,
  createApiKeys,
  logRedaction,
  pinoRedactPaths,
  SecurityError,
  migrationsFolder as securityMigrations,
} from '@rampart/security';
import {
  apiKeyAuthPlugin,
  problemErrorsPlugin,
  problemFrameworkErrors,
  rateLimitPlugin,
  securityHeadersPlugin,
  type TypeBoxTypeProvider,
  useTypeBox,
} from '@rampart/security/fastify';
import Fastify, { type FastifyError, type FastifyInstance, LogController } from 'fastify';
import { Counter, Histogram, Registry } from 'prom-client';
import { Type } from 'typebox';
import type { HardeningIo, HardeningTarget } from '../src/index.ts';

/** A service's own coded error: @rampart/security answers it as problem+json with its code. */
class FixtureError extends Error {
  readonly code: string;
  readonly statusCode: number;
  constructor(code: string, statusCode: number) {
    super(code);
    this.name = 'FixtureError';
    this.code = code;
    this.statusCode = statusCode;
  }
}

export interface FixtureOptions {
  /** Leave out one piece. */
  without?: 'rate-limit' | 'headers' | 'errors' | 'observability' | 'audit' | 'shutdown';
  /** A route registered before the auth plugin: no auth decision, answers anyone. */
  unprotectedRoute?: boolean;
  /** A route that logs the Authorization header under a name redaction does not know. */
  logsAuthorization?: boolean;
  /** The logger with pino's paths only (`pinoRedactPaths()`), no `redactValue`: one level of wildcards. */
  shallowRedaction?: boolean;
  /** A route that throws on an input its schema allows. */
  crashesOnInput?: boolean;
  /** A route whose answer breaks its own response schema. */
  breaksResponseSchema?: boolean;
  /** A service metric labelled by the raw request path (unbounded series). */
  pathLabelledMetric?: boolean;
  /** Real managed keys and a real audit trail on a fresh PGlite (or PostgreSQL with TEST_DATABASE_URL). */
  database?: boolean;
  /** The item routes' own error handler, answering with the error's name, message and stack. */
  leakyErrors?: boolean;
  /** POST /items declared `auth: 'public'`. */
  publicWrite?: boolean;
  /** POST /items declared `auth: { scopes: [] }`. */
  unscopedWrite?: boolean;
  /** Return a second key holding only items:read as `limitedApiKey` (`'all-scopes'`: one holding both). */
  limitedKey?: boolean | 'all-scopes';
  /** The key verifier grants every scope to every valid key (a store that lost its scopes). */
  verifierGrantsAll?: boolean;
  /** POST /items opts out of the rate limit with `config.rateLimit: false`. */
  rateLimitOff?: boolean;
  /** /metrics served from the service's own registry: requests counted, durations never observed. */
  metricsDecoy?: boolean;
  /** Orders: POST /orders takes only a SKU stocked by the build (else 422), DELETE /orders/:id; both audited. */
  orders?: boolean;
  /** Return writeSamples with a body POST /orders accepts. */
  writeSamples?: boolean;
  /** A /reports plugin with its own not-found handler (plain JSON 404 for every miss under /reports). */
  ownNotFound?: boolean;
  /** The JSON parser swapped for Fastify's default one (no content-coding, charset or poisoning guard). */
  ownJsonParser?: boolean;
}

const KEY = 'rk_test_fixturekey000001_fixturesecretfixturesecret00';
const READ_KEY = 'rk_test_fixturekey000002_fixturesecretfixturesecret00';
const ALL_SCOPES = ['items:read', 'items:write', 'orders:write'];
const staticKeys = (grantsAll: boolean): ApiKeyVerifier => ({
  async verify(presented) {
    if (presented === KEY) return { id: 'fixture', name: 'fixture', env: 'test', scopes: ALL_SCOPES };
    if (presented === READ_KEY)
      return { id: 'reader', name: 'reader', env: 'test', scopes: grantsAll ? ALL_SCOPES : ['items:read'] };
    return undefined;
  },
});
const STOCKED_SKU = 'fixture-sku-1';

const Item = Type.Object({ id: Type.String(), name: Type.String(), quantity: Type.Integer({ minimum: 0 }) });
const NewItem = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 100 }),
  quantity: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000 })),
});

export async function buildFixture(
  io: HardeningIo,
  tracing: Tracing,
  options: FixtureOptions = {},
): Promise<HardeningTarget> {
  const { without } = options;
  let database: TestDatabase | undefined;
  let verifier = staticKeys(options.verifierGrantsAll === true);
  let apiKey = KEY;
  let readKey = READ_KEY;
  if (options.database) {
    database = await createTestDatabase({ migrations: [dbMigrations, securityMigrations] });
    // The canary stands in for the service's pepper: config must never reach a log line either.
    const keys = createApiKeys({ db: database.db, pepper: `${io.canary}-pepper-padding` });
    apiKey = (await keys.create({ name: 'hardening', scopes: ALL_SCOPES })).key;
    readKey = (await keys.create({ name: 'reader', scopes: ['items:read'] })).key;
    verifier = keys;
  }
  const memoryAudit: unknown[] = [];

  const logger = createLogger({
    service: 'fixture',
    ...(options.shallowRedaction
      ? { redact: [...DEFAULT_REDACT_PATHS, ...pinoRedactPaths()] }
      : logRedaction(DEFAULT_REDACT_PATHS)),
    destination: io.logStream,
  });
  const app = useTypeBox(
    Fastify({
      loggerInstance: logger,
      logController: new LogController({ disableRequestLogging: true }),
      bodyLimit: 65_536,
      frameworkErrors: problemFrameworkErrors(),
      forceCloseConnections: 'idle',
      return503OnClosing: false,
    }) as unknown as FastifyInstance,
  );
  let shuttingDown = false;
  if (without !== 'headers') await app.register(securityHeadersPlugin);
  if (without !== 'errors') await app.register(problemErrorsPlugin);
  if (options.ownJsonParser) {
    app.removeContentTypeParser('application/json');
    app.addContentTypeParser(
      'application/json',
      { parseAs: 'string' },
      app.getDefaultJsonParser('ignore', 'ignore'),
    );
  }
  const metrics = createMetrics({ service: 'fixture', defaultMetrics: false });
  if (without !== 'observability')
    await app.register(observability, { metrics, ...(options.metricsDecoy ? { metricsPath: false } : {}) });
  if (options.metricsDecoy) {
    // The service's own registry: the RED names are there (HELP and TYPE), the counter counts, and the
    // histogram is never observed.
    const registry = new Registry();
    const labelNames = ['method', 'route', 'status_class'];
    const requests = new Counter({
      name: 'http_server_requests_total',
      help: 'requests',
      labelNames,
      registers: [registry],
    });
    new Histogram({
      name: 'http_server_request_duration_seconds',
      help: 'durations',
      labelNames,
      registers: [registry],
    });
    app.addHook('onResponse', async (request, reply) => {
      requests.inc({
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status_class: `${String(reply.statusCode)[0]}xx`,
      });
    });
    app.get('/metrics', async (_request, reply) =>
      reply.type(registry.contentType).send(await registry.metrics()),
    );
  }
  if (options.pathLabelledMetric) {
    const byPath = new Counter({
      name: 'fixture_requests_by_path_total',
      help: 'requests by raw path',
      labelNames: ['path'],
      registers: [metrics.registry],
    });
    app.addHook('onRequest', async (request) => {
      byPath.inc({ path: request.url.split('?')[0] });
    });
  }
  const health = createHealth({
    version: '1.0.0',
    commit: 'fixture',
    isShuttingDown: () => (without === 'shutdown' ? false : shuttingDown),
  });
  await app.register(resiliencePlugin, { health, loadShedding: false });
  if (options.unprotectedRoute) app.get('/internal/report', async () => ({ secretReport: true }));
  if (without !== 'rate-limit') await app.register(rateLimitPlugin, { max: 60, timeWindowMs: 60_000 });
  // As a generated service does: a failed-auth limit per address (the auth check must not trip it).
  await app.register(apiKeyAuthPlugin, {
    verifier,
    ...(without === 'rate-limit' ? {} : { failedAuth: { max: 3, timeWindowMs: 60_000 } }),
  });

  const items = new Map<string, { id: string; name: string; quantity: number }>();
  const orders = new Map<string, { id: string; sku: string }>();
  const record = async (entry: { actor: string; action: string; resource: string; resourceId: string }) => {
    if (without === 'audit') return;
    const full = { ...entry, outcome: 'success' as const };
    if (database) await audit(database.db, full);
    else memoryAudit.push(full);
  };
  const writeAuth = options.publicWrite
    ? ('public' as const)
    : { scopes: options.unscopedWrite ? [] : ['items:write'] };
  // In a plugin of their own, as a service's routes are: its error handler (leakyErrors) covers them only.
  await app.register(async (scope) => {
    const routes = scope.withTypeProvider<TypeBoxTypeProvider>();
    if (options.leakyErrors)
      routes.setErrorHandler((error: FastifyError, _request, reply) =>
        reply
          .code(error.statusCode ?? 500)
          .type('application/problem+json')
          .send({
            status: error.statusCode ?? 500,
            title: error.name,
            detail: error.message,
            stack: error.stack,
          }),
      );
    routes.get(
      '/items',
      { config: { auth: { scopes: ['items:read'] } }, schema: { response: { 200: Type.Array(Item) } } },
      async (request) => {
        if (options.logsAuthorization)
          request.log.info({ presented: request.headers.authorization }, 'listing items');
        return [...items.values()];
      },
    );
    routes.get(
      '/items/:id',
      {
        config: { auth: { scopes: ['items:read'] } },
        schema: { params: Type.Object({ id: Type.String({ format: 'uuid' }) }), response: { 200: Item } },
      },
      async (request) => {
        const item = items.get(request.params.id);
        if (!item) throw new SecurityError('RAMPART_SECURITY_NOT_FOUND');
        return item;
      },
    );
    routes.post(
      '/items',
      {
        config: { auth: writeAuth, ...(options.rateLimitOff ? { rateLimit: false } : {}) },
        schema: { body: NewItem, response: { 201: Item } },
      },
      async (request, reply) => {
        const { name, quantity = 0 } = request.body;
        if (options.crashesOnInput && quantity > 500)
          throw new Error('quantity overflow in the warehouse driver');
        const item = {
          id: crypto.randomUUID(),
          name,
          quantity: options.breaksResponseSchema ? -1 : quantity,
        };
        items.set(item.id, item);
        await record({
          actor: request.apiKey?.id ?? 'unknown',
          action: 'item.create',
          resource: 'item',
          resourceId: item.id,
        });
        return reply.code(201).send(item);
      },
    );
    if (options.orders) {
      const write = { auth: { scopes: ['orders:write'] } };
      routes.post(
        '/orders',
        {
          config: write,
          schema: {
            body: Type.Object(
              { sku: Type.String({ minLength: 1, maxLength: 50 }), quantity: Type.Integer({ minimum: 1 }) },
              { additionalProperties: false },
            ),
          },
        },
        async (request, reply) => {
          // Only a SKU the build stocked: a drawn one is unknown, as in a real order service.
          if (request.body.sku !== STOCKED_SKU) throw new FixtureError('RAMPART_FIXTURE_SKU_UNKNOWN', 422);
          const order = { id: crypto.randomUUID(), sku: request.body.sku };
          orders.set(order.id, order);
          await record({
            actor: request.apiKey?.id ?? 'unknown',
            action: 'order.create',
            resource: 'order',
            resourceId: order.id,
          });
          return reply.code(201).send(order);
        },
      );
      routes.delete(
        '/orders/:id',
        { config: write, schema: { params: Type.Object({ id: Type.String({ format: 'uuid' }) }) } },
        async (request, reply) => {
          if (!orders.delete(request.params.id))
            throw new FixtureError('RAMPART_FIXTURE_ORDER_NOT_FOUND', 404);
          await record({
            actor: request.apiKey?.id ?? 'unknown',
            action: 'order.delete',
            resource: 'order',
            resourceId: request.params.id,
          });
          return reply.code(204).send();
        },
      );
    }
  });
  if (options.ownNotFound)
    await app.register(
      async (scope) => {
        scope.setNotFoundHandler((request, reply) =>
          reply.code(404).send({ error: `no route ${request.method} ${request.url}` }),
        );
        scope.get('/', { config: { auth: { scopes: ['items:read'] } } }, async () => ({ reports: [] }));
      },
      { prefix: '/reports' },
    );

  return {
    app,
    apiKey,
    ...(options.limitedKey
      ? {
          limitedApiKey: {
            key: options.limitedKey === 'all-scopes' ? apiKey : readKey,
            scopes: options.limitedKey === 'all-scopes' ? ALL_SCOPES : ['items:read'],
          },
        }
      : {}),
    ...(options.writeSamples
      ? { writeSamples: { 'POST /orders': { body: { sku: STOCKED_SKU, quantity: 2 } } } }
      : {}),
    spans: () => tracing.memoryExporter?.getFinishedSpans() ?? [],
    auditRecords: async () => (database ? database.db.select().from(auditLog) : memoryAudit),
    beginShutdown: () => {
      shuttingDown = true;
    },
    close: async () => {
      await database?.close();
    },
  };
}
