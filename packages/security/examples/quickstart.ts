// Runnable: `node examples/quickstart.ts`. A service with every @rampart/security piece on embedded PGlite:
// it issues a key, then shows what a client sees without it, with it, and when it asks for too much.
import { randomBytes } from 'node:crypto';
import { createDb, migrate } from '@rampart/db';
import Fastify, { type InjectOptions } from 'fastify';
import Type from 'typebox';
import {
  apiKeyAuthPlugin,
  problemClientErrorHandler,
  problemErrorsPlugin,
  problemFrameworkErrors,
  rateLimitPlugin,
  securityHeadersPlugin,
  useTypeBox,
} from '../src/fastify.ts';
import { createApiKeys, createFieldCipher, migrationsFolder, migrationsTable } from '../src/index.ts';

const database = await createDb(); // in-memory PGlite; pass { url } for PostgreSQL
await migrate(database, { migrationsFolder, migrationsTable });
const apiKeys = createApiKeys({ db: database.db, pepper: randomBytes(32).toString('hex') });
const cipher = createFieldCipher({ keys: [{ version: 1, key: randomBytes(32).toString('base64') }] });

const app = useTypeBox(
  Fastify({ frameworkErrors: problemFrameworkErrors(), clientErrorHandler: problemClientErrorHandler() }),
);
await app.register(securityHeadersPlugin);
await app.register(problemErrorsPlugin);
await app.register(rateLimitPlugin, { max: 3, timeWindowMs: 60_000 });
await app.register(apiKeyAuthPlugin, { verifier: apiKeys, failedAuth: { max: 5, timeWindowMs: 60_000 } });

app.get('/health', { config: { auth: 'public' } }, async () => ({ status: 'ok' }));
app.post(
  '/notes',
  {
    schema: { body: Type.Object({ text: Type.String({ maxLength: 200 }) }) },
    config: { auth: { scopes: ['notes:write'] } },
  },
  async (request) => ({
    owner: request.apiKey?.name,
    stored: cipher.encrypt(request.body.text, { table: 'notes', column: 'text', rowId: '1' }).slice(0, 12),
  }),
);

const { key } = await apiKeys.create({ name: 'example', scopes: ['notes:write'] });
const reader = await apiKeys.create({ name: 'reader', scopes: [] });
const show = async (label: string, request: InjectOptions) => {
  const response = await app.inject(request);
  process.stdout.write(`${label.padEnd(28)} ${response.statusCode} ${response.body}\n`);
};
const post = (headers: Record<string, string>, payload: object): InjectOptions => ({
  method: 'POST',
  url: '/notes',
  headers,
  payload,
});

await show('public route', { method: 'GET', url: '/health' });
await show('no key', post({}, { text: 'hi' }));
await show('key without the scope', post({ 'x-api-key': reader.key }, { text: 'hi' }));
await show('valid key', post({ 'x-api-key': key }, { text: 'hi' }));
await show('invalid body (German title)', post({ 'x-api-key': key, 'accept-language': 'de' }, { text: 42 }));
await show('third request: still allowed', post({ 'x-api-key': key }, { text: 'hi' }));
await show('fourth request: rate limited', post({ 'x-api-key': key }, { text: 'hi' }));

await app.close();
await apiKeys.close();
await database.close();
