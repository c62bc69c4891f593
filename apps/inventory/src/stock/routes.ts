import { audit, paginate, prepared } from '@rampart/db';
import type { TypeBoxTypeProvider } from '@rampart/security/fastify';
import { eq, sql } from 'drizzle-orm';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import Type, { type Static } from 'typebox';
import { SkuTakenError, StockNotFoundError } from '../errors.ts';
import { stock } from './schema.ts';

const Id = Type.String({ pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' });
const CreateBody = Type.Object(
  {
    sku: Type.String({ minLength: 1, maxLength: 200, pattern: '^[^\\u0000]*$' }),
    available: Type.Integer({ minimum: 0, maximum: 2_147_483_647 }),
  },
  { additionalProperties: false },
);
// A PATCH sets the fields it names and leaves the rest alone; optional fields take null to clear them.
const PatchBody = Type.Object(
  {
    sku: Type.Optional(Type.String({ minLength: 1, maxLength: 200, pattern: '^[^\\u0000]*$' })),
    available: Type.Optional(Type.Integer({ minimum: 0, maximum: 2_147_483_647 })),
  },
  { additionalProperties: false, minProperties: 1 },
);
const Stock = Type.Object({
  id: Type.String(),
  sku: Type.String(),
  available: Type.Integer(),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});
const Page = Type.Object({ items: Type.Array(Stock), nextCursor: Type.Union([Type.String(), Type.Null()]) });

/** Rows per page when the client does not ask for a number. */
const PAGE_SIZE = 20;

const read = { auth: { scopes: ['stock:read'] } } as const;
const write = { auth: { scopes: ['stock:write'] } } as const;

/** A second row for one SKU breaks the unique index: the client hears 409 with a code, not a 500. */
function rethrowSkuTaken(sku: string | undefined) {
  return (error: unknown): never => {
    const { code, cause } = (error ?? {}) as { code?: unknown; cause?: { code?: unknown } };
    if (sku !== undefined && (code ?? cause?.code) === '23505')
      throw new SkuTakenError(sku, { cause: error });
    throw error;
  };
}

/** Who did it and which request: every write's audit record carries both (never field values). */
function actorOf(request: FastifyRequest) {
  const traceId = request.span?.spanContext().traceId;
  return { actor: request.apiKey?.id ?? 'anonymous', requestId: request.id, traceId: traceId ?? null };
}

/** CRUD for stock: scoped routes, keyset pagination, and an audit record in each write's transaction. */
export const stockRoutes: FastifyPluginAsync = async (fastify) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = app.database;
  // The read every client repeats, built once: drizzle renders its SQL here instead of on each request, and
  // PostgreSQL parses it once per connection (@rampart/db's README, "Hot queries").
  const stockById = prepared(db, (q) =>
    q
      .select()
      .from(stock)
      .where(eq(stock.id, sql.placeholder('id'))),
  );

  const serialize = (row: typeof stock.$inferSelect): Static<typeof Stock> => ({
    id: row.id,
    sku: row.sku,
    available: row.available,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  });

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
      const page = await paginate(db.select().from(stock).$dynamic(), {
        keys: { createdAt: stock.createdAt, id: stock.id },
        direction: 'desc',
        limit: request.query.limit ?? PAGE_SIZE,
        ...(request.query.after ? { after: request.query.after } : {}),
      });
      return { items: page.items.map(serialize), nextCursor: page.nextCursor ?? null };
    },
  );

  app.get(
    '/:id',
    { config: read, schema: { params: Type.Object({ id: Id }), response: { 200: Stock } } },
    async (request) => {
      const [row] = await stockById.execute({ id: request.params.id });
      if (!row) throw new StockNotFoundError(request.params.id);
      return serialize(row);
    },
  );

  app.post(
    '/',
    { config: write, schema: { body: CreateBody, response: { 201: Stock } } },
    async (request, reply) => {
      const { body } = request;
      const row = await db
        .transaction(async (tx) => {
          const [created] = await tx
            .insert(stock)
            .values({
              sku: body.sku,
              available: body.available,
            })
            .returning();
          await audit(tx, {
            ...actorOf(request),
            action: 'stock.create',
            resource: 'stock',
            resourceId: created!.id,
            outcome: 'success',
          });
          return created!;
        })
        .catch(rethrowSkuTaken(body.sku));
      return reply.code(201).send(serialize(row));
    },
  );

  app.patch(
    '/:id',
    { config: write, schema: { params: Type.Object({ id: Id }), body: PatchBody, response: { 200: Stock } } },
    async (request) => {
      const { body } = request;
      const changes: Partial<typeof stock.$inferInsert> = { updatedAt: new Date() };
      if (body.sku !== undefined) changes.sku = body.sku;
      if (body.available !== undefined) changes.available = body.available;
      const row = await db
        .transaction(async (tx) => {
          const [updated] = await tx
            .update(stock)
            .set(changes)
            .where(eq(stock.id, request.params.id))
            .returning();
          if (!updated) throw new StockNotFoundError(request.params.id);
          await audit(tx, {
            ...actorOf(request),
            action: 'stock.update',
            resource: 'stock',
            resourceId: updated.id,
            outcome: 'success',
          });
          return updated;
        })
        .catch(rethrowSkuTaken(body.sku));
      return serialize(row);
    },
  );

  app.delete(
    '/:id',
    { config: write, schema: { params: Type.Object({ id: Id }) } },
    async (request, reply) => {
      await db.transaction(async (tx) => {
        const [deleted] = await tx
          .delete(stock)
          .where(eq(stock.id, request.params.id))
          .returning({ id: stock.id });
        if (!deleted) throw new StockNotFoundError(request.params.id);
        await audit(tx, {
          ...actorOf(request),
          action: 'stock.delete',
          resource: 'stock',
          resourceId: deleted.id,
          outcome: 'success',
        });
      });
      return reply.code(204).send();
    },
  );
};
