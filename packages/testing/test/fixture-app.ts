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
  useTypeBox,
} from '@rampart/security/fastify';
import Fastify, { type FastifyInstance, LogController } from 'fastify';
import { Counter } from 'prom-client';
import { Type } from 'typebox';
import type { HardeningIo, HardeningTarget } from '../src/index.ts';

export interface FixtureOptions {
  /** Leave out one piece. */
  without?: 'rate-limit' | 'headers' | 'errors' | 'observability' | 'audit' | 'shutdown';
  /** A route registered before the auth plugin: no auth decision, answers anyone. */
  unprotectedRoute?: boolean;
  /** A route that logs the Authorization header under a name redaction does not know. */
  logsAuthorization?: boolean;
  /** A route that throws on an input its schema allows. */
  crashesOnInput?: boolean;
  /** A route whose answer breaks its own response schema. */
  breaksResponseSchema?: boolean;
  /** A service metric labelled by the raw request path (unbounded series). */
  pathLabelledMetric?: boolean;
  /** Real managed keys and a real audit trail on a fresh PGlite (or PostgreSQL with TEST_DATABASE_URL). */
  database?: boolean;
}

const KEY = 'rk_test_fixturekey000001_fixturesecretfixturesecret00';
const staticKeys: ApiKeyVerifier = {
  async verify(presented) {
    return presented === KEY
      ? { id: 'fixture', name: 'fixture', env: 'test', scopes: ['items:read', 'items:write'] }
      : undefined;
  },
};

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
  let verifier = staticKeys;
  let apiKey = KEY;
  if (options.database) {
    database = await createTestDatabase({ migrations: [dbMigrations, securityMigrations] });
    // The canary stands in for the service's pepper: config must never reach a log line either.
    const keys = createApiKeys({ db: database.db, pepper: `${io.canary}-pepper-padding` });
    apiKey = (await keys.create({ name: 'hardening', scopes: ['items:read', 'items:write'] })).key;
    verifier = keys;
  }
  const memoryAudit: unknown[] = [];

  const logger = createLogger({
    service: 'fixture',
    redact: [...DEFAULT_REDACT_PATHS, ...pinoRedactPaths()],
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
  const metrics = createMetrics({ service: 'fixture', defaultMetrics: false });
  if (without !== 'observability') await app.register(observability, { metrics });
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
  app.get(
    '/items',
    { config: { auth: { scopes: ['items:read'] } }, schema: { response: { 200: Type.Array(Item) } } },
    async (request) => {
      if (options.logsAuthorization)
        request.log.info({ presented: request.headers.authorization }, 'listing items');
      return [...items.values()];
    },
  );
  app.get(
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
  app.post(
    '/items',
    {
      config: { auth: { scopes: ['items:write'] } },
      schema: { body: NewItem, response: { 201: Item } },
    },
    async (request, reply) => {
      const { name, quantity = 0 } = request.body;
      if (options.crashesOnInput && quantity > 500)
        throw new Error('quantity overflow in the warehouse driver');
      const item = { id: crypto.randomUUID(), name, quantity: options.breaksResponseSchema ? -1 : quantity };
      items.set(item.id, item);
      if (without !== 'audit') {
        const entry = {
          actor: request.apiKey?.id ?? 'unknown',
          action: 'item.create',
          resource: 'item',
          resourceId: item.id,
          outcome: 'success' as const,
        };
        if (database) await audit(database.db, entry);
        else memoryAudit.push(entry);
      }
      return reply.code(201).send(item);
    },
  );

  return {
    app,
    apiKey,
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
