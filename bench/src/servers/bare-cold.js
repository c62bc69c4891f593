// Bare Fastify for the cold start: plain JavaScript, as the service's dist/server.js is (a .ts entry makes
// Node load its type stripper, about 0.1 s of CPU), and the routes' schemas as JSON from the bench
// (TypeBox is the bench's way of writing them, not something bare Fastify loads to start). The same two
// routes, schemas and handlers as the HTTP section's bare.ts.
import Fastify from 'fastify';

const { params, body, item } = JSON.parse(process.env.BENCH_SCHEMAS ?? '{}');
const app = Fastify();
app.get('/bench/items/:id', { schema: { params, response: { 200: item } } }, async (request) => ({
  id: request.params.id,
  name: 'Ada Lovelace',
  tags: ['math'],
}));
app.post('/bench/items', { schema: { body, response: { 201: item } } }, async (request, reply) =>
  reply.code(201).send({ id: '43', name: request.body.name, tags: request.body.tags ?? [] }),
);
const address = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`listening ${new URL(address).port}\n`);
process.once('SIGTERM', () => process.exit(0));
