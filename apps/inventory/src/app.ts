import type { RampartDb } from '@rampart/db';
import {
  createLogger,
  createMetrics,
  createQueryObserver,
  createTaskObserver,
  DEFAULT_REDACT_PATHS,
} from '@rampart/observability';
import { observability } from '@rampart/observability/fastify';
import { createHealth, type HealthCheck, redisCheck } from '@rampart/resilience';
import { resiliencePlugin } from '@rampart/resilience/fastify';
import { type ApiKeys, createApiKeys, logRedaction } from '@rampart/security';
import {
  apiKeyAuthPlugin,
  problemClientErrorHandler,
  problemErrorsPlugin,
  problemFrameworkErrors,
  rateLimitPlugin,
  securityHeadersPlugin,
  useTypeBox,
} from '@rampart/security/fastify';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { DestinationStream } from 'pino';
import { openDatabase } from './database.ts';
import { DEVELOPMENT_PEPPER, type Env } from './env.ts';
import { itemRoutes } from './items/routes.ts';
import { reservationsRoutes } from './reservations/routes.ts';
import { stockRoutes } from './stock/routes.ts';
import { startTaskRuntime, type TaskRuntime } from './task-runtime.ts';
import { createTasks } from './tasks.ts';

export { MIGRATIONS, migrateAll } from './database.ts';

export const SERVICE_NAME = 'inventory';

export interface AppOptions {
  env: Env;
  /**
   * An already migrated database (tests pass one from `@rampart/db/testing`); else opened from env. A test
   * database on PostgreSQL lives in a schema of its own: the task queue's tables go there too, so closing
   * it leaves nothing behind.
   */
  database?: RampartDb & { readonly schemaName?: string | undefined };
  /** Where log lines go; tests pass a stream to read them back. Default stdout. */
  logDestination?: DestinationStream;
  /** Readiness answers 503 once this turns true (server.ts passes its shutdown's). */
  isShuttingDown?: () => boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    database: RampartDb;
    apiKeys: ApiKeys;
    /** Enqueue background work: `app.tasks.queue.enqueue(task, payload, { tx, idempotencyKey })`. */
    tasks: TaskRuntime;
  }
}

/** Builds the service without listening, so tests drive it through `inject`. */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { env } = options;
  const logger = createLogger({
    service: SERVICE_NAME,
    level: env.LOG_LEVEL,
    ...logRedaction(DEFAULT_REDACT_PATHS),
    ...(options.logDestination ? { destination: options.logDestination } : {}),
  });
  const metrics = createMetrics({ service: SERVICE_NAME });

  const database = options.database ?? (await openDatabase(env, createQueryObserver({ metrics, logger })));
  const ownsDatabase = options.database === undefined;
  if (env.API_KEY_PEPPER === undefined) {
    logger.warn(
      'API_KEY_PEPPER is unset: using the development pepper (production refuses to start without one)',
    );
  }
  const apiKeys = createApiKeys({
    db: database.db,
    pepper: env.API_KEY_PEPPER ?? DEVELOPMENT_PEPPER,
    onError: (error) => logger.error({ err: error }, 'api key bookkeeping failed'),
  });
  // ioredis loads only when Redis is configured: it is about 0.2 s of CPU at start for nothing otherwise.
  // Its failures (refused, a wrong password, no such database) are logged: one line per cause, again every
  // 30 s while it lasts (reconnects retry every 2 s at most); readiness alone said only "not ready".
  let redisFailure = { message: '', at: 0 };
  const redis = env.REDIS_URL
    ? (await import('@rampart/security/redis')).createRateLimitRedis({
        url: env.REDIS_URL,
        onError: (error) => {
          const now = Date.now();
          if (error.message === redisFailure.message && now - redisFailure.at < 30_000) return;
          redisFailure = { message: error.message, at: now };
          logger.warn({ err: error }, 'rate limit store (Redis) failed');
        },
      })
    : undefined;
  if (env.TASKS_IN_PROCESS === 'false' && database.system === 'pglite') {
    // Allowed (a bench, a test of the HTTP stack alone), but then nothing runs the tasks, audit.verify included.
    logger.warn(
      'TASKS_IN_PROCESS=false on embedded PGlite: no process runs the tasks (a worker process cannot share PGlite)',
    );
  }
  const tasks = await startTaskRuntime({
    database,
    tasks: createTasks(database),
    inProcess:
      env.TASKS_IN_PROCESS === 'auto' ? database.system === 'pglite' : env.TASKS_IN_PROCESS === 'true',
    schema: options.database?.schemaName ?? env.TASKS_SCHEMA,
    shutdownGraceMs: env.SHUTDOWN_GRACE_MS,
    observer: createTaskObserver({ metrics, logger }),
    onError: (error) => logger.error({ err: error }, 'task queue error'),
  });

  const app = useTypeBox(
    Fastify({
      // Typed as Fastify's base logger so the instance type matches what plugins expect.
      loggerInstance: logger as FastifyBaseLogger,
      logController: new LogController({ disableRequestLogging: true }),
      frameworkErrors: problemFrameworkErrors(),
      // Requests Node's parser refuses (malformed, headers over the limit, too slow) answer problem+json too.
      clientErrorHandler: problemClientErrorHandler(),
      bodyLimit: env.BODY_LIMIT_BYTES,
      // Node's default is no limit on how long a body may trickle in: one slow client per socket forever.
      requestTimeout: env.REQUEST_TIMEOUT_MS,
      http: {
        // Node enforces requestTimeout only when headersTimeout (60 s by default) is not longer, and looks
        // for expired requests every 30 s: without these a trickled body was never cut off.
        headersTimeout: Math.min(60_000, env.REQUEST_TIMEOUT_MS),
        connectionsCheckingInterval: Math.min(5_000, Math.floor(env.REQUEST_TIMEOUT_MS / 2)),
        // A request without Host gets problemErrorsPlugin's coded 400 problem+json, not Node's bare 400.
        requireHostHeader: false,
      },
      // Idle keep-alive sockets close as soon as shutdown starts; requests on busy ones still finish.
      forceCloseConnections: 'idle',
      return503OnClosing: false,
    }),
  );
  app.decorate('database', database);
  app.decorate('apiKeys', apiKeys);
  app.decorate('tasks', tasks);
  app.addHook('onClose', async () => {
    await apiKeys.close();
    // Running handlers finish (within the grace period) while the database is still open.
    await tasks.stop();
    redis?.disconnect();
    if (ownsDatabase) await database.close();
  });

  const checks: HealthCheck[] = [
    { name: 'db', timeoutMs: 1_000, check: () => database.ping({ timeoutMs: 1_000 }) },
  ];
  // Redis gates readiness only when the rate limiter fails closed: failing open, an outage costs shared
  // limits (logged above), not service, and a readiness 503 would take every instance out at once. It is
  // reported either way.
  if (redis)
    checks.push({ ...redisCheck('redis', redis, 500), critical: env.RATE_LIMIT_FAILURE_POLICY === 'closed' });
  const health = createHealth({
    version: env.SERVICE_VERSION,
    commit: env.GIT_COMMIT,
    checks,
    ...(options.isShuttingDown ? { isShuttingDown: options.isShuttingDown } : {}),
  });

  await app.register(observability, {
    metrics,
    ...(env.METRICS_TOKEN ? { metricsToken: env.METRICS_TOKEN } : {}),
  });
  await app.register(securityHeadersPlugin);
  await app.register(problemErrorsPlugin);
  await app.register(rateLimitPlugin, {
    max: env.RATE_LIMIT_MAX,
    timeWindowMs: env.RATE_LIMIT_WINDOW_MS,
    trustedProxies: env.TRUSTED_PROXIES.split(',')
      .map((entry) => entry.trim())
      .filter(Boolean),
    ...(redis
      ? { redis: { client: redis, prefix: SERVICE_NAME, failurePolicy: env.RATE_LIMIT_FAILURE_POLICY } }
      : {}),
  });
  // Health routes come before the auth plugin: probes carry no key. Every route after it must declare
  // config.auth ('public' or { scopes }), or registration fails.
  await app.register(resiliencePlugin, {
    health,
    ...(env.LOAD_SHEDDING === 'off' ? { loadShedding: false } : {}),
  });
  await app.register(apiKeyAuthPlugin, { verifier: apiKeys, failedAuth: { max: 20, timeWindowMs: 60_000 } });
  await app.register(itemRoutes, { prefix: '/items' });
  await app.register(stockRoutes, { prefix: '/stock' });
  await app.register(reservationsRoutes, { prefix: '/reservations' });
  return app;
}
