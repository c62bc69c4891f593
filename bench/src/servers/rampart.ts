// The generated service (apps/api) as its buildApp() makes it: our logger with one access line a request,
// RED metrics, request ids, security headers, problem+json errors, rate limits by key (in memory, or Redis
// when BENCH_REDIS_URL is set), API-key auth with scopes, TypeBox validation. Tracing comes from the
// register hook. Its database is PostgreSQL at BENCH_DATABASE_URL (a database of the bench's own), else
// PGlite in a data directory of its own, as the embedded default runs; the API key is created through the
// app's own API. The bench routes are added to the app like any of its own routes, so every plugin
// applies to them. The bench runs this file as the service ships: bundled by rampart-bundle with the
// register hook as its preload (configs.ts), started with plain `node`.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '@rampart/api/app';
// The service's own env parser, so every variable the bench does not set keeps the service's default.
import { parseEnv } from '@rampart/api/env';
import { getTracing } from '@rampart/observability';
import { announce, createItem, GET_PATH, getItem, Item, ItemBody, ItemParams, POST_PATH } from '../routes.ts';

const dataDir = process.env.BENCH_DATABASE_URL ? undefined : mkdtempSync(join(tmpdir(), 'rampart-bench-'));
const env = parseEnv({
  NODE_ENV: 'production',
  PORT: '0',
  LOG_LEVEL: 'info',
  DATA_DIR: dataDir,
  DATABASE_URL: process.env.BENCH_DATABASE_URL,
  REDIS_URL: process.env.BENCH_REDIS_URL,
  // Requests never hit a limit: the bench measures the limiter's cost, not its answers.
  RATE_LIMIT_MAX: '1000000000',
  API_KEY_PEPPER: randomBytes(32).toString('hex'),
  // On PGlite the service would also run its task worker in this process; the bench measures requests.
  TASKS_IN_PROCESS: 'false',
});

const app = await buildApp({ env });
const { key } = await app.apiKeys.create({ name: 'bench', scopes: ['items:read', 'items:write'] });
app.get(
  GET_PATH,
  {
    config: { auth: { scopes: ['items:read'] } },
    schema: { params: ItemParams, response: { 200: Item } },
  },
  async (request) => getItem((request.params as { id: string }).id),
);
app.post(
  POST_PATH,
  {
    config: { auth: { scopes: ['items:write'] } },
    schema: { body: ItemBody, response: { 201: Item } },
  },
  async (request, reply) => reply.code(201).send(createItem(request.body as { name: string })),
);
const address = await app.listen({ host: '127.0.0.1', port: 0 });
announce({ port: Number(new URL(address).port), key });
process.once('SIGTERM', () => {
  void app
    .close()
    .then(() => getTracing()?.shutdown())
    .finally(() => {
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
      process.exit(0);
    });
});
