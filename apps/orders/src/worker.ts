import { createServer } from 'node:http';
import { createHealth } from '@rampart/resilience';
import { runWorker } from '@rampart/tasks';
import { openDatabase } from './database.ts';
import { EnvError, parseEnv } from './env.ts';
import { createTasks } from './tasks.ts';

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
    'orders worker: DATABASE_URL is required (a separate worker process cannot share embedded PGlite)',
  );
  process.exit(1);
}

const database = await openDatabase(env);
let stopping = false;
const running = await runWorker({
  database,
  connectionString: env.DATABASE_URL,
  tasks: createTasks(database),
  shutdownGraceMs: env.SHUTDOWN_GRACE_MS,
  signals: [],
  onError: (error) => console.error(`orders worker: ${error.message}`),
});

const health = createHealth({
  version: env.SERVICE_VERSION,
  commit: env.GIT_COMMIT,
  checks: [{ name: 'db', timeoutMs: 1_000, check: () => database.ping({ timeoutMs: 1_000 }) }],
  isShuttingDown: () => stopping,
});
// Probes only: /health/live and /health/ready on WORKER_HEALTH_PORT.
const server = createServer((request, response) => {
  const send = (statusCode: number, body: unknown) => {
    response.writeHead(statusCode, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    response.end(JSON.stringify(body));
  };
  if (request.url === '/health/live') return send(200, health.live().body);
  if (request.url === '/health/ready') {
    return void health.ready().then((report) => send(report.statusCode, report.body));
  }
  return send(404, { status: 404 });
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
  await database.close();
  server.close();
  process.exit(0);
}
process.on('SIGTERM', (signal) => void stop(signal));
process.on('SIGINT', (signal) => void stop(signal));
