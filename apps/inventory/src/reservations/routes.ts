import { audit, paginate } from '@rampart/db';
import type { TypeBoxTypeProvider } from '@rampart/security/fastify';
import { eq } from 'drizzle-orm';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import Type, { type Static } from 'typebox';
import { ReservationsNotFoundError } from '../errors.ts';
import { reservations } from './schema.ts';

const Id = Type.String({ pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' });
const CreateBody = Type.Object(
  {
    orderId: Type.String({ format: 'uuid' }),
    sku: Type.String({ minLength: 1, maxLength: 200, pattern: '^[^\\u0000]*$' }),
    quantity: Type.Integer({ minimum: -2_147_483_648, maximum: 2_147_483_647 }),
  },
  { additionalProperties: false },
);
// A PATCH sets the fields it names and leaves the rest alone; optional fields take null to clear them.
const PatchBody = Type.Object(
  {
    orderId: Type.Optional(Type.String({ format: 'uuid' })),
    sku: Type.Optional(Type.String({ minLength: 1, maxLength: 200, pattern: '^[^\\u0000]*$' })),
    quantity: Type.Optional(Type.Integer({ minimum: -2_147_483_648, maximum: 2_147_483_647 })),
  },
  { additionalProperties: false, minProperties: 1 },
);
const Reservations = Type.Object({
  id: Type.String(),
  orderId: Type.String(),
  sku: Type.String(),
  quantity: Type.Integer(),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});
const Page = Type.Object({
  items: Type.Array(Reservations),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});

/** Rows per page when the client does not ask for a number. */
const PAGE_SIZE = 20;

const read = { auth: { scopes: ['reservations:read'] } } as const;
const write = { auth: { scopes: ['reservations:write'] } } as const;

/** Who did it and which request: every write's audit record carries both (never field values). */
function actorOf(request: FastifyRequest) {
  const traceId = request.span?.spanContext().traceId;
  return { actor: request.apiKey?.id ?? 'anonymous', requestId: request.id, traceId: traceId ?? null };
}

/** CRUD for reservations: scoped routes, keyset pagination, and an audit record in each write's transaction. */
export const reservationsRoutes: FastifyPluginAsync = async (fastify) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = app.database;

  const serialize = (row: typeof reservations.$inferSelect): Static<typeof Reservations> => ({
    id: row.id,
    orderId: row.orderId,
    sku: row.sku,
    quantity: row.quantity,
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
      const page = await paginate(db.select().from(reservations).$dynamic(), {
        keys: { createdAt: reservations.createdAt, id: reservations.id },
        direction: 'desc',
        limit: request.query.limit ?? PAGE_SIZE,
        ...(request.query.after ? { after: request.query.after } : {}),
      });
      return { items: page.items.map(serialize), nextCursor: page.nextCursor ?? null };
    },
  );

  app.get(
    '/:id',
    { config: read, schema: { params: Type.Object({ id: Id }), response: { 200: Reservations } } },
    async (request) => {
      const [row] = await db.select().from(reservations).where(eq(reservations.id, request.params.id));
      if (!row) throw new ReservationsNotFoundError(request.params.id);
      return serialize(row);
    },
  );

  app.post(
    '/',
    { config: write, schema: { body: CreateBody, response: { 201: Reservations } } },
    async (request, reply) => {
      const { body } = request;
      const row = await db.transaction(async (tx) => {
        const [created] = await tx
          .insert(reservations)
          .values({
            orderId: body.orderId,
            sku: body.sku,
            quantity: body.quantity,
          })
          .returning();
        await audit(tx, {
          ...actorOf(request),
          action: 'reservations.create',
          resource: 'reservations',
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
    {
      config: write,
      schema: { params: Type.Object({ id: Id }), body: PatchBody, response: { 200: Reservations } },
    },
    async (request) => {
      const { body } = request;
      const changes: Partial<typeof reservations.$inferInsert> = { updatedAt: new Date() };
      if (body.orderId !== undefined) changes.orderId = body.orderId;
      if (body.sku !== undefined) changes.sku = body.sku;
      if (body.quantity !== undefined) changes.quantity = body.quantity;
      const row = await db.transaction(async (tx) => {
        const [updated] = await tx
          .update(reservations)
          .set(changes)
          .where(eq(reservations.id, request.params.id))
          .returning();
        if (!updated) throw new ReservationsNotFoundError(request.params.id);
        await audit(tx, {
          ...actorOf(request),
          action: 'reservations.update',
          resource: 'reservations',
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
          .delete(reservations)
          .where(eq(reservations.id, request.params.id))
          .returning({ id: reservations.id });
        if (!deleted) throw new ReservationsNotFoundError(request.params.id);
        await audit(tx, {
          ...actorOf(request),
          action: 'reservations.delete',
          resource: 'reservations',
          resourceId: deleted.id,
          outcome: 'success',
        });
      });
      return reply.code(204).send();
    },
  );
};
