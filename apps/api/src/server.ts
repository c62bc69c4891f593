import { buildApp } from './app.ts';
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

const app = await buildApp({ env });

let signals = 0;
async function shutdown(signal: NodeJS.Signals): Promise<void> {
  signals += 1;
  if (signals > 1) {
    app.log.warn({ signal }, 'second signal: exiting now');
    process.exit(1);
  }
  app.log.info({ signal, graceMs: env.SHUTDOWN_GRACE_MS }, 'shutting down');
  app.lifecycle.beginShutdown();
  const deadline = setTimeout(() => {
    app.log.error({ graceMs: env.SHUTDOWN_GRACE_MS }, 'shutdown grace period exceeded: exiting 1');
    process.exit(1);
  }, env.SHUTDOWN_GRACE_MS);
  deadline.unref();
  try {
    await app.close();
    process.exit(0);
  } catch (error) {
    app.log.error({ err: error }, 'shutdown failed');
    process.exit(1);
  }
}
process.on('SIGTERM', (signal) => void shutdown(signal));
process.on('SIGINT', (signal) => void shutdown(signal));

try {
  const address = await app.listen({ host: env.HOST, port: env.PORT });
  // A plain line a person (and the boot test) can read, besides the JSON log.
  process.stdout.write(`api listening on ${address}\n`);
} catch (error) {
  app.log.error({ err: error }, 'could not listen');
  console.error(`api: could not listen on ${env.HOST}:${env.PORT}: ${(error as Error).message}`);
  process.exit(1);
}
