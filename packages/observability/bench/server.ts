// One benchmark server process. argv[2]: 'bare' (Fastify, no logger, no plugin), 'logger-quiet' (our
// logger, silent, and no plugin: what fastify's per-request logger costs by itself), 'plugin' (our logger
// with the access line, RED metrics, server spans) or 'plugin-quiet' (the same with the logger silent,
// to separate the access line's cost). Tracing comes from the register hook when it is loaded. Uses the
// built dist/, as a service would. Prints "listening <port>"; GET /__stats reports CPU time and requests.
import Fastify, { type FastifyInstance, LogController } from 'fastify';
import pino from 'pino';
import { observability } from '../dist/fastify.js';
import { createLogger, createMetrics, DEFAULT_REDACT_PATHS } from '../dist/index.js';

const mode = process.argv[2];
const app: FastifyInstance =
  mode === 'bare'
    ? Fastify()
    : (Fastify({
        loggerInstance: createLogger({
          service: 'bench',
          level: mode === 'plugin' ? 'info' : 'silent',
          redact: DEFAULT_REDACT_PATHS,
          // What createLogger does with stdout, pointed at /dev/null so no reader's cost is counted.
          destination: pino.destination({ dest: '/dev/null', minLength: 4096, sync: false }),
        }),
        logController: new LogController({ disableRequestLogging: true }),
      }) as unknown as FastifyInstance);
if (mode === 'plugin' || mode === 'plugin-quiet')
  await app.register(observability, { metrics: createMetrics({ service: 'bench' }) });

let served = 0;
app.get('/users/:id', async (request) => {
  served += 1;
  return { id: (request.params as { id: string }).id, name: 'Ada' };
});
app.get('/__stats', async () => ({ cpu: process.cpuUsage(), served }));

const address = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`listening ${new URL(address).port}\n`);
process.once('SIGTERM', () => {
  app.close().then(() => process.exit(0));
});
