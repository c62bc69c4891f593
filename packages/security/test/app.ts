import { createTestDatabase } from '@rampart/db/testing';
import Fastify, { type FastifyInstance, type FastifyServerOptions, type RouteOptions } from 'fastify';
import Type from 'typebox';
import { type ApiKeys, createApiKeys } from '../src/api-keys.ts';
import { type ApiKeyAuthOptions, apiKeyAuthPlugin } from '../src/fastify/auth-plugin.ts';
import {
  problemClientErrorHandler,
  problemErrorsPlugin,
  problemFrameworkErrors,
} from '../src/fastify/errors-plugin.ts';
import { securityHeadersPlugin } from '../src/fastify/headers-plugin.ts';
import { type RateLimitOptions, rateLimitPlugin } from '../src/fastify/rate-limit-plugin.ts';
import { useTypeBox } from '../src/fastify/typebox.ts';
import { migrationsFolder, migrationsTable } from '../src/migrations-folder.ts';

export const PEPPER = 'pepper-for-tests-0123456789abcdef0123';

export interface TestApp {
  app: FastifyInstance;
  keys: ApiKeys;
  /** Every route as registered (method, url, auth), read from Fastify's onRoute, not a hand-kept list. */
  routes: RouteOptions[];
  close(): Promise<void>;
}

/** A service wired the way a generated one is: headers, errors, rate limit, auth, TypeBox routes. */
export async function buildTestApp(
  options: {
    rateLimit?: RateLimitOptions;
    auth?: Partial<ApiKeyAuthOptions>;
    logger?: FastifyServerOptions['logger'];
  } = {},
): Promise<TestApp> {
  const database = await createTestDatabase({ migrations: [{ migrationsFolder, migrationsTable }] });
  const keys = createApiKeys({ db: database.db, pepper: PEPPER });
  const app = useTypeBox(
    Fastify({
      logger: options.logger ?? false,
      frameworkErrors: problemFrameworkErrors(),
      clientErrorHandler: problemClientErrorHandler(),
      bodyLimit: 4096,
    }),
  );
  const routes: RouteOptions[] = [];
  app.addHook('onRoute', (route) => {
    routes.push(route);
  });
  await app.register(securityHeadersPlugin);
  await app.register(problemErrorsPlugin);
  await app.register(rateLimitPlugin, options.rateLimit ?? { max: 10_000, timeWindowMs: 60_000 });
  await app.register(apiKeyAuthPlugin, { verifier: keys, ...options.auth });

  const Order = Type.Object({ item: Type.String({ maxLength: 50 }), quantity: Type.Integer({ minimum: 1 }) });
  app.get('/health', { config: { auth: 'public' } }, async () => ({ status: 'ok' }));
  app.get('/orders', { config: { auth: { scopes: ['orders:read'] } } }, async (request) => ({
    key: request.apiKey?.id,
    orders: [],
  }));
  app.post(
    '/orders',
    { schema: { body: Order }, config: { auth: { scopes: ['orders:write'] } } },
    async (request) => ({
      created: request.body.item,
    }),
  );
  app.get(
    '/orders/:id',
    { schema: { params: Type.Object({ id: Type.String() }) }, config: { auth: { scopes: ['orders:read'] } } },
    async (request) => ({ id: request.params.id }),
  );
  app.delete('/admin/keys/:id', { config: { auth: { scopes: ['admin'] } } }, async () => ({ deleted: true }));
  app.get('/admin/users', { config: { auth: { scopes: ['admin'] } } }, async () => ({ users: [] }));
  app.put('/account', { config: { auth: { scopes: [] } } }, async () => ({ updated: true }));
  await app.ready();
  return {
    app,
    keys,
    routes,
    async close() {
      await app.close();
      await keys.close();
      await database.close();
    },
  };
}
