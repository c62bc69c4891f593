import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import { registerDrizzleImportHook } from '@rampart/db/import-hook';
import {
  createLogger,
  createMetrics,
  createPolicyObserver,
  createTaskObserver,
  DEFAULT_REDACT_PATHS,
} from '@rampart/observability';
import { createHealth } from '@rampart/resilience';
import { EnvError, parseEnv } from './env.ts';

// The worker process: runs this service's tasks apart from the API, so the two scale separately. It needs
// PostgreSQL: embedded PGlite belongs to one process, the API's.
let env: ReturnType<typeof parseEnv>;
try {
  env = parseEnv(process.env);
} catch (error) {
  if (error instanceof EnvError) {
    console.error(`orders worker: ${error.message}`);
    process.exit(1);
  }
  throw error;
}
if (!env.DATABASE_URL) {
  console.error(
    'orders worker: DATABASE_URL is required (a separate worker process cannot share embedded PGlite; there the API process runs the tasks)',
  );
  process.exit(1);
}

// drizzle-orm loads several times faster through this hook (Node re-parses its 175 KB package.json for
// every module otherwise): it has to be in place before anything below imports drizzle-orm.
registerDrizzleImportHook();
const { logRedaction } = await import('@rampart/security');
const { runWorker } = await import('@rampart/tasks');
const { openDatabase } = await import('./database.ts');
const { createTasks } = await import('./tasks.ts');
const { createClients } = await import('./clients.ts');

const logger = createLogger({
  service: 'orders-worker',
  level: env.LOG_LEVEL,
  ...logRedaction(DEFAULT_REDACT_PATHS),
});
const metrics = createMetrics({ service: 'orders' });
const clients = createClients(env, createPolicyObserver({ metrics, logger }));
let stopping = false;
let database: Awaited<ReturnType<typeof openDatabase>> | undefined;
let running: Awaited<ReturnType<typeof runWorker>>;
try {
  database = await openDatabase(env);
  running = await runWorker({
    database,
    connectionString: env.DATABASE_URL,
    schema: env.TASKS_SCHEMA,
    tasks: createTasks(database, clients),
    observer: createTaskObserver({ metrics, logger }),
    shutdownGraceMs: env.SHUTDOWN_GRACE_MS,
    signals: [],
    onError: (error) => logger.error({ err: error }, 'task queue error'),
  });
} catch (error) {
  // One line naming the cause (the database unreachable, a bad task definition), never a stack trace.
  const { code, message } = error as { code?: string; message?: string };
  console.error(`orders worker: could not start: ${code ? `${code}: ` : ''}${message ?? String(error)}`);
  await database?.close().catch(() => undefined);
  process.exit(1);
}
const db = database;

const health = createHealth({
  version: env.SERVICE_VERSION,
  commit: env.GIT_COMMIT,
  checks: [{ name: 'db', timeoutMs: 1_000, check: () => db.ping({ timeoutMs: 1_000 }) }],
  isShuttingDown: () => stopping,
});
/** Compares digests, so the time taken says nothing about how much of the token matched. */
function sameSecret(given: string | undefined, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return given !== undefined && timingSafeEqual(digest(given), digest(expected));
}

// Probes and the task metrics (jobs, durations, active) on WORKER_HEALTH_PORT, for Prometheus to scrape.
const server = createServer((request, response) => {
  const send = (statusCode: number, body: unknown) => {
    response.writeHead(statusCode, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    response.end(JSON.stringify(body));
  };
  if (request.url === '/health/live') return send(200, health.live().body);
  if (request.url === '/health/ready') {
    return void health.ready().then((report) => send(report.statusCode, report.body));
  }
  if (request.url === '/metrics') {
    if (env.METRICS_TOKEN && !sameSecret(request.headers.authorization, `Bearer ${env.METRICS_TOKEN}`)) {
      return send(401, { status: 401 });
    }
    return void metrics.registry.metrics().then((text) => {
      response.writeHead(200, { 'content-type': metrics.registry.contentType });
      response.end(text);
    });
  }
  return send(404, { status: 404 });
});
server.on('error', (error) => {
  console.error(`orders worker: could not listen on ${env.HOST}:${env.WORKER_HEALTH_PORT}: ${error.message}`);
  void running
    .stop()
    .then(() => db.close())
    .finally(() => process.exit(1));
});
server.listen(env.WORKER_HEALTH_PORT, env.HOST, () => {
  process.stdout.write(`orders worker running; health on ${env.HOST}:${env.WORKER_HEALTH_PORT}\n`);
});

async function stop(signal: NodeJS.Signals): Promise<void> {
  if (stopping) process.exit(1); // a second signal: exit at once
  stopping = true;
  console.error(`orders worker: ${signal}: draining`);
  const deadline = setTimeout(() => process.exit(1), env.SHUTDOWN_GRACE_MS + 5_000);
  deadline.unref();
  await running.stop();
  await clients.close();
  await db.close();
  server.close();
  process.exit(0);
}
process.on('SIGTERM', (signal) => void stop(signal));
process.on('SIGINT', (signal) => void stop(signal));
