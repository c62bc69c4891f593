import { audit, paginate, prepared } from '@rampart/db';
import type { TypeBoxTypeProvider } from '@rampart/security/fastify';
import { eq, sql } from 'drizzle-orm';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { ItemNotFoundError } from '../errors.ts';
import { items } from './schema.ts';

const Id = Type.String({ pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' });
const ItemBody = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 200 }) },
  { additionalProperties: false },
);
const Item = Type.Object({
  id: Type.String(),
  name: Type.String(),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});
const Page = Type.Object({ items: Type.Array(Item), nextCursor: Type.Union([Type.String(), Type.Null()]) });

/** Items per page when the client does not ask for a number. */
const PAGE_SIZE = 20;

const read = { auth: { scopes: ['items:read'] } } as const;
const write = { auth: { scopes: ['items:write'] } } as const;

function serialize(row: typeof items.$inferSelect) {
  return { ...row, createdAt: row.createdAt.toISOString(), updatedAt: row.updatedAt.toISOString() };
}

/** Who did it and which request: every write's audit record carries both. */
function actorOf(request: FastifyRequest) {
  const traceId = request.span?.spanContext().traceId;
  return { actor: request.apiKey?.id ?? 'anonymous', requestId: request.id, traceId: traceId ?? null };
}

/** CRUD for items: scoped routes, keyset pagination, and an audit record in each write's transaction. */
export const itemRoutes: FastifyPluginAsync = async (fastify) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = app.database;
  // The read every client repeats, built once: drizzle renders its SQL here instead of on each request, and
  // PostgreSQL parses it once per connection (@rampart/db's README, "Hot queries").
  const itemById = prepared(db, (q) =>
    q
      .select()
      .from(items)
      .where(eq(items.id, sql.placeholder('id'))),
  );

  app.get(
    '/',
    {
      config: read,
      schema: {
        querystring: Type.Object(
          {
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
            after: Type.Optional(Type.String({ maxLength: 200 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Page },
      },
    },
    async (request) => {
      const page = await paginate(db.select().from(items).$dynamic(), {
        keys: { createdAt: items.createdAt, id: items.id },
        direction: 'desc',
        limit: request.query.limit ?? PAGE_SIZE,
        ...(request.query.after ? { after: request.query.after } : {}),
      });
      return { items: page.items.map(serialize), nextCursor: page.nextCursor ?? null };
    },
  );

  app.get(
    '/:id',
    { config: read, schema: { params: Type.Object({ id: Id }), response: { 200: Item } } },
    async (request) => {
      const [row] = await itemById.execute({ id: request.params.id });
      if (!row) throw new ItemNotFoundError(request.params.id);
      return serialize(row);
    },
  );

  app.post(
    '/',
    { config: write, schema: { body: ItemBody, response: { 201: Item } } },
    async (request, reply) => {
      const row = await db.transaction(async (tx) => {
        const [created] = await tx.insert(items).values({ name: request.body.name }).returning();
        await audit(tx, {
          ...actorOf(request),
          action: 'item.create',
          resource: 'item',
          resourceId: created!.id,
          outcome: 'success',
        });
        return created!;
      });
      return reply.code(201).send(serialize(row));
    },
  );

  app.patch(
    '/:id',
    { config: write, schema: { params: Type.Object({ id: Id }), body: ItemBody, response: { 200: Item } } },
    async (request) => {
      const row = await db.transaction(async (tx) => {
        const [updated] = await tx
          .update(items)
          .set({ name: request.body.name, updatedAt: new Date() })
          .where(eq(items.id, request.params.id))
          .returning();
        if (!updated) throw new ItemNotFoundError(request.params.id);
        await audit(tx, {
          ...actorOf(request),
          action: 'item.update',
          resource: 'item',
          resourceId: updated.id,
          outcome: 'success',
        });
        return updated;
      });
      return serialize(row);
    },
  );

  app.delete(
    '/:id',
    { config: write, schema: { params: Type.Object({ id: Id }) } },
    async (request, reply) => {
      await db.transaction(async (tx) => {
        const [deleted] = await tx
          .delete(items)
          .where(eq(items.id, request.params.id))
          .returning({ id: items.id });
        if (!deleted) throw new ItemNotFoundError(request.params.id);
        await audit(tx, {
          ...actorOf(request),
          action: 'item.delete',
          resource: 'item',
          resourceId: deleted.id,
          outcome: 'success',
        });
      });
      return reply.code(204).send();
    },
  );
};
