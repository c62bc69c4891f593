import { registerDrizzleImportHook } from '@rampart/db/import-hook';
import { getTracing } from '@rampart/observability';
import { createShutdown } from '@rampart/resilience';
import type { FastifyInstance } from 'fastify';
import { EnvError, parseEnv } from './env.ts';

let env: ReturnType<typeof parseEnv>;
try {
  env = parseEnv(process.env);
} catch (error) {
  if (error instanceof EnvError) {
    console.error(`api: ${error.message}`);
    process.exit(1);
  }
  throw error;
}

let app: FastifyInstance | undefined;
// SIGTERM/SIGINT: readiness 503 at once; after SHUTDOWN_DRAIN_MS (requests still served, so traffic a load
// balancer sends before it sees the 503 is not refused) the listener closes (idle keep-alive sockets at
// once, in-flight requests finish, then the db and Redis close in onClose), then spans flush. Past the
// grace period the process exits 1; a second signal exits at once.
const shutdown = createShutdown({
  graceMs: env.SHUTDOWN_GRACE_MS,
  drainDelayMs: env.SHUTDOWN_DRAIN_MS,
  logger: {
    info: (object, message) => app?.log.info(object, message),
    error: (object, message) => app?.log.error(object, message),
  },
  steps: [
    { name: 'http', run: async () => void (await app?.close()) },
    { name: 'exporters', run: async () => void (await getTracing()?.shutdown()) },
  ],
});
shutdown.listen();

try {
  // Loaded after the environment is known good, so a bad variable fails fast without loading the stack;
  // and after the hook that makes drizzle-orm load several times faster (Node re-parses its 175 KB
  // package.json for every module otherwise: about 1.5 s of CPU at each start).
  registerDrizzleImportHook();
  const { buildApp } = await import('./app.ts');
  app = await buildApp({ env, isShuttingDown: shutdown.isShuttingDown });
} catch (error) {
  const { code, message } = error as { code?: string; message?: string };
  console.error(`api: could not start: ${code ? `${code}: ` : ''}${message ?? String(error)}`);
  process.exit(1);
}

try {
  const address = await app.listen({ host: env.HOST, port: env.PORT });
  // A plain line a person (and the boot test) can read, besides the JSON log.
  process.stdout.write(`api listening on ${address}\n`);
} catch (error) {
  console.error(`api: could not listen on ${env.HOST}:${env.PORT}: ${(error as Error).message}`);
  await app.close().catch(() => undefined);
  process.exit(1);
}
