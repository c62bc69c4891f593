// Bare Fastify: no logger, no plugins, the bench routes with Fastify's own (Ajv) validation.
import Fastify from 'fastify';
import {
  announce,
  createItem,
  GET_PATH,
  getItem,
  Item,
  ItemBody,
  ItemParams,
  POST_PATH,
  plainSchema,
} from '../routes.ts';

const app = Fastify();
app.get(
  GET_PATH,
  { schema: { params: plainSchema(ItemParams), response: { 200: plainSchema(Item) } } },
  async (request) => getItem((request.params as { id: string }).id),
);
app.post(
  POST_PATH,
  { schema: { body: plainSchema(ItemBody), response: { 201: plainSchema(Item) } } },
  async (request, reply) => reply.code(201).send(createItem(request.body as { name: string })),
);
const address = await app.listen({ host: '127.0.0.1', port: 0 });
announce({ port: Number(new URL(address).port) });
process.once('SIGTERM', () => process.exit(0));
