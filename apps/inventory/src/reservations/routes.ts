import { audit, paginate, prepared } from '@rampart/db';
import type { TypeBoxTypeProvider } from '@rampart/security/fastify';
import { and, eq, gte, sql } from 'drizzle-orm';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import Type, { type Static } from 'typebox';
import {
  OutOfStockError,
  ReservationConflictError,
  ReservationsNotFoundError,
  SkuUnknownError,
} from '../errors.ts';
import { stock } from '../stock/schema.ts';
import { reservations } from './schema.ts';

const Id = Type.String({ pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' });
const CreateBody = Type.Object(
  {
    orderId: Type.String({ format: 'uuid' }),
    sku: Type.String({ minLength: 1, maxLength: 200, pattern: '^[^\\u0000]*$' }),
    quantity: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
  },
  { additionalProperties: false },
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

/** Reservations: made (taking stock), read, listed and released (returning it); each write audited. */
export const reservationsRoutes: FastifyPluginAsync = async (fastify) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = app.database;
  // The read every client repeats, built once: drizzle renders its SQL here instead of on each request, and
  // PostgreSQL parses it once per connection (@rampart/db's README, "Hot queries").
  const reservationById = prepared(db, (q) =>
    q
      .select()
      .from(reservations)
      .where(eq(reservations.id, sql.placeholder('id'))),
  );

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
      const [row] = await reservationById.execute({ id: request.params.id });
      if (!row) throw new ReservationsNotFoundError(request.params.id);
      return serialize(row);
    },
  );

  // Reserving takes stock in the same transaction that records the reservation. The order id is unique, so
  // a retried call (the caller lost our answer) finds its reservation and takes nothing twice; the
  // conditional UPDATE takes stock only while enough is left, so concurrent orders never oversell.
  app.post(
    '/',
    { config: write, schema: { body: CreateBody, response: { 200: Reservations, 201: Reservations } } },
    async (request, reply) => {
      const { orderId, sku, quantity } = request.body;
      const { row, replayed } = await db.transaction(async (tx) => {
        const [created] = await tx
          .insert(reservations)
          .values({ orderId, sku, quantity })
          .onConflictDoNothing({ target: reservations.orderId })
          .returning();
        if (!created) {
          const [existing] = await tx.select().from(reservations).where(eq(reservations.orderId, orderId));
          if (existing?.sku !== sku || existing.quantity !== quantity)
            throw new ReservationConflictError(orderId);
          return { row: existing, replayed: true };
        }
        const [taken] = await tx
          .update(stock)
          .set({ available: sql`${stock.available} - ${quantity}`, updatedAt: new Date() })
          .where(and(eq(stock.sku, sku), gte(stock.available, quantity)))
          .returning({ id: stock.id });
        if (!taken) {
          const [known] = await tx.select({ id: stock.id }).from(stock).where(eq(stock.sku, sku));
          throw known ? new OutOfStockError(sku) : new SkuUnknownError(sku);
        }
        await audit(tx, {
          ...actorOf(request),
          action: 'reservations.create',
          resource: 'reservations',
          resourceId: created.id,
          outcome: 'success',
          details: { orderId, sku, quantity },
        });
        return { row: created, replayed: false };
      });
      return reply.code(replayed ? 200 : 201).send(serialize(row));
    },
  );

  // A reservation is never edited; releasing it (the order was cancelled) puts its stock back.
  app.delete(
    '/:id',
    { config: write, schema: { params: Type.Object({ id: Id }) } },
    async (request, reply) => {
      await db.transaction(async (tx) => {
        const [deleted] = await tx
          .delete(reservations)
          .where(eq(reservations.id, request.params.id))
          .returning();
        if (!deleted) throw new ReservationsNotFoundError(request.params.id);
        await tx
          .update(stock)
          .set({ available: sql`${stock.available} + ${deleted.quantity}`, updatedAt: new Date() })
          .where(eq(stock.sku, deleted.sku));
        await audit(tx, {
          ...actorOf(request),
          action: 'reservations.delete',
          resource: 'reservations',
          resourceId: deleted.id,
          outcome: 'success',
          details: { orderId: deleted.orderId, sku: deleted.sku, quantity: deleted.quantity },
        });
      });
      return reply.code(204).send();
    },
  );
};
