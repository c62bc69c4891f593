import { audit, paginate, prepared, uuidv7 } from '@rampart/db';
import { clientGone } from '@rampart/resilience/fastify';
import { createFieldCipher } from '@rampart/security';
import type { TypeBoxTypeProvider } from '@rampart/security/fastify';
import type { Task, TaskQueue } from '@rampart/tasks';
import { eq, sql } from 'drizzle-orm';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import Type, { type Static } from 'typebox';
import { type Env, fieldEncryptionKeys } from '../env.ts';
import { OrdersNotFoundError } from '../errors.ts';
import type { Inventory } from '../inventory.ts';
import type { DeliverWebhookPayload } from '../tasks/deliver-webhook.ts';
import type { ReleaseReservationPayload } from '../tasks/release-reservation.ts';
import { orders } from './schema.ts';

const Id = Type.String({ pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' });
const CreateBody = Type.Object(
  {
    customerEmail: Type.String({ minLength: 3, maxLength: 320, pattern: '^[^@\\s]+@[^@\\s]+$' }),
    sku: Type.String({ minLength: 1, maxLength: 200, pattern: '^[^\\u0000]*$' }),
    quantity: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
  },
  { additionalProperties: false },
);
// What an order holds in inventory (sku, quantity) is fixed once it is placed: only the email changes.
const PatchBody = Type.Object(
  { customerEmail: Type.String({ minLength: 3, maxLength: 320, pattern: '^[^@\\s]+@[^@\\s]+$' }) },
  { additionalProperties: false },
);
const Orders = Type.Object({
  id: Type.String(),
  customerEmail: Type.String(),
  sku: Type.String(),
  quantity: Type.Integer(),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});
const Page = Type.Object({ items: Type.Array(Orders), nextCursor: Type.Union([Type.String(), Type.Null()]) });

/** Rows per page when the client does not ask for a number. */
const PAGE_SIZE = 20;

const read = { auth: { scopes: ['orders:read'] } } as const;
const write = { auth: { scopes: ['orders:write'] } } as const;

/** Who did it and which request: every write's audit record carries both (never field values). */
function actorOf(request: FastifyRequest) {
  const traceId = request.span?.spanContext().traceId;
  return { actor: request.apiKey?.id ?? 'anonymous', requestId: request.id, traceId: traceId ?? null };
}

export interface OrdersRoutesOptions {
  /** FIELD_ENCRYPTION_KEYS (the key ring of the encrypted fields) comes from here. */
  env: Env;
  /** Where stock is held for each order. */
  inventory: Inventory;
  /** The started task queue, and the tasks it was built with. */
  tasks: TaskQueue;
  deliverWebhook: Task<typeof DeliverWebhookPayload>;
  releaseReservation: Task<typeof ReleaseReservationPayload>;
}

/**
 * Orders: placing one holds its stock in inventory (through the resilient client, so one trace spans both
 * services), then writes the order, its audit record and its webhook job in one transaction. Deleting one
 * enqueues the stock's release in the deleting transaction. Reads are keyset-paged; the email is encrypted.
 */
export const ordersRoutes: FastifyPluginAsync<OrdersRoutesOptions> = async (fastify, options) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = app.database;
  // The read every client repeats, built once: drizzle renders its SQL here instead of on each request, and
  // PostgreSQL parses it once per connection (@rampart/db's README, "Hot queries").
  const orderById = prepared(db, (q) =>
    q
      .select()
      .from(orders)
      .where(eq(orders.id, sql.placeholder('id'))),
  );
  if (options.env.FIELD_ENCRYPTION_KEYS === undefined) {
    app.log.warn(
      'FIELD_ENCRYPTION_KEYS is unset: using the development key ring (production refuses to start without one)',
    );
  }
  const cipher = createFieldCipher({ keys: fieldEncryptionKeys(options.env) });
  const seal = (column: string, plaintext: string, rowId: string) =>
    cipher.encrypt(plaintext, { table: 'orders', column, rowId });
  const open = (column: string, ciphertext: string, rowId: string) =>
    cipher.decrypt(ciphertext, { table: 'orders', column, rowId });

  const serialize = (row: typeof orders.$inferSelect): Static<typeof Orders> => ({
    id: row.id,
    customerEmail: open('customer_email', row.customerEmail, row.id),
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
      const page = await paginate(db.select().from(orders).$dynamic(), {
        keys: { createdAt: orders.createdAt, id: orders.id },
        direction: 'desc',
        limit: request.query.limit ?? PAGE_SIZE,
        ...(request.query.after ? { after: request.query.after } : {}),
      });
      return { items: page.items.map(serialize), nextCursor: page.nextCursor ?? null };
    },
  );

  app.get(
    '/:id',
    { config: read, schema: { params: Type.Object({ id: Id }), response: { 200: Orders } } },
    async (request) => {
      const [row] = await orderById.execute({ id: request.params.id });
      if (!row) throw new OrdersNotFoundError(request.params.id);
      return serialize(row);
    },
  );

  app.post(
    '/',
    { config: write, schema: { body: CreateBody, response: { 201: Orders } } },
    async (request, reply) => {
      const { body } = request;
      // The id is made here, not by the database: inventory holds stock under it, and the encrypted
      // email is bound to it.
      const id = uuidv7();
      // Out of stock (409), unknown SKU (422), inventory down (503/504 with the resilience code): nothing
      // is written. The reservation is idempotent on the order id, so its retries take nothing twice.
      const { reservationId } = await options.inventory.reserve(
        { orderId: id, sku: body.sku, quantity: body.quantity },
        clientGone(reply),
      );
      const row = await db
        .transaction(async (tx) => {
          const [created] = await tx
            .insert(orders)
            .values({
              id,
              customerEmail: seal('customer_email', body.customerEmail, id),
              sku: body.sku,
              quantity: body.quantity,
              reservationId,
            })
            .returning();
          await audit(tx, {
            ...actorOf(request),
            action: 'orders.create',
            resource: 'orders',
            resourceId: id,
            outcome: 'success',
          });
          // The webhook job exists exactly when the order does.
          await options.tasks.enqueue(
            options.deliverWebhook,
            { orderId: id },
            { tx, idempotencyKey: `order-${id}` },
          );
          return created!;
        })
        .catch(async (error: unknown) => {
          // The order was not written: give its stock back now (if that fails too, the log says which).
          await options.inventory.release(reservationId).catch((releaseError: unknown) => {
            request.log.error(
              { err: releaseError, reservationId },
              'could not release the stock of a failed order',
            );
          });
          throw error;
        });
      return reply.code(201).send(serialize(row));
    },
  );

  app.patch(
    '/:id',
    {
      config: write,
      schema: { params: Type.Object({ id: Id }), body: PatchBody, response: { 200: Orders } },
    },
    async (request) => {
      const { body } = request;
      const { id } = request.params;
      const changes = {
        customerEmail: seal('customer_email', body.customerEmail, id),
        updatedAt: new Date(),
      };
      const row = await db.transaction(async (tx) => {
        const [updated] = await tx
          .update(orders)
          .set(changes)
          .where(eq(orders.id, request.params.id))
          .returning();
        if (!updated) throw new OrdersNotFoundError(request.params.id);
        await audit(tx, {
          ...actorOf(request),
          action: 'orders.update',
          resource: 'orders',
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
          .delete(orders)
          .where(eq(orders.id, request.params.id))
          .returning({ id: orders.id, reservationId: orders.reservationId });
        if (!deleted) throw new OrdersNotFoundError(request.params.id);
        // Inventory gets the stock back once the delete commits, however long it is down.
        await options.tasks.enqueue(
          options.releaseReservation,
          { orderId: deleted.id, reservationId: deleted.reservationId },
          { tx, idempotencyKey: `release-${deleted.id}` },
        );
        await audit(tx, {
          ...actorOf(request),
          action: 'orders.delete',
          resource: 'orders',
          resourceId: deleted.id,
          outcome: 'success',
        });
      });
      return reply.code(204).send();
    },
  );
};
