import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Env } from './env.ts';

export interface AppOptions {
  env: Env;
  /** A pino destination or logger options; tests pass a stream to read what was logged. */
  logger?: FastifyServerOptions['logger'];
}

export interface Lifecycle {
  /** True once shutdown has begun: readiness answers 503 from then on. */
  readonly shuttingDown: boolean;
  beginShutdown(): void;
}

declare module 'fastify' {
  interface FastifyInstance {
    lifecycle: Lifecycle;
  }
}

/** Builds the service without listening, so tests drive it through `inject`. */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { env } = options;
  const app = Fastify({
    logger: options.logger ?? { level: env.LOG_LEVEL },
    // Idle keep-alive sockets are closed as soon as close() starts, so shutdown takes as long as the
    // slowest in-flight request rather than the keep-alive timeout.
    forceCloseConnections: 'idle',
    return503OnClosing: true,
  });

  let shuttingDown = false;
  app.decorate('lifecycle', {
    get shuttingDown() {
      return shuttingDown;
    },
    beginShutdown() {
      shuttingDown = true;
    },
  });

  app.get('/health/live', async () => ({ status: 'ok' }));

  app.get('/health/ready', async (_request, reply) => {
    const body = { version: env.SERVICE_VERSION, commit: env.GIT_COMMIT };
    if (shuttingDown) {
      return reply.code(503).send({ status: 'shutting-down', ...body });
    }
    return { status: 'ready', ...body };
  });

  return app;
}
