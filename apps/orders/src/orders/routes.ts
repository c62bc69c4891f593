import { audit, paginate, uuidv7 } from '@rampart/db';
import { createFieldCipher } from '@rampart/security';
import type { TypeBoxTypeProvider } from '@rampart/security/fastify';
import { eq } from 'drizzle-orm';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import Type, { type Static } from 'typebox';
import { type Env, fieldEncryptionKeys } from '../env.ts';
import { OrdersNotFoundError } from '../errors.ts';
import { orders } from './schema.ts';

const Id = Type.String({ pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' });
const CreateBody = Type.Object(
  {
    customerEmail: Type.String({ minLength: 1, maxLength: 1_000 }),
    sku: Type.String({ minLength: 1, maxLength: 200, pattern: '^[^\\u0000]*$' }),
    quantity: Type.Integer({ minimum: -2_147_483_648, maximum: 2_147_483_647 }),
  },
  { additionalProperties: false },
);
// A PATCH sets the fields it names and leaves the rest alone; optional fields take null to clear them.
const PatchBody = Type.Object(
  {
    customerEmail: Type.Optional(Type.String({ minLength: 1, maxLength: 1_000 })),
    sku: Type.Optional(Type.String({ minLength: 1, maxLength: 200, pattern: '^[^\\u0000]*$' })),
    quantity: Type.Optional(Type.Integer({ minimum: -2_147_483_648, maximum: 2_147_483_647 })),
  },
  { additionalProperties: false, minProperties: 1 },
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
}

/** CRUD for orders: scoped routes, keyset pagination, and an audit record in each write's transaction. */
export const ordersRoutes: FastifyPluginAsync<OrdersRoutesOptions> = async (fastify, options) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = app.database;
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
      const [row] = await db.select().from(orders).where(eq(orders.id, request.params.id));
      if (!row) throw new OrdersNotFoundError(request.params.id);
      return serialize(row);
    },
  );

  app.post(
    '/',
    { config: write, schema: { body: CreateBody, response: { 201: Orders } } },
    async (request, reply) => {
      const { body } = request;
      // The id is made here, not by the database: encrypted fields are bound to it.
      const id = uuidv7();
      const row = await db.transaction(async (tx) => {
        const [created] = await tx
          .insert(orders)
          .values({
            id,
            customerEmail: seal('customer_email', body.customerEmail, id),
            sku: body.sku,
            quantity: body.quantity,
          })
          .returning();
        await audit(tx, {
          ...actorOf(request),
          action: 'orders.create',
          resource: 'orders',
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
      schema: { params: Type.Object({ id: Id }), body: PatchBody, response: { 200: Orders } },
    },
    async (request) => {
      const { body } = request;
      const { id } = request.params;
      const changes: Partial<typeof orders.$inferInsert> = { updatedAt: new Date() };
      if (body.customerEmail !== undefined)
        changes.customerEmail = seal('customer_email', body.customerEmail, id);
      if (body.sku !== undefined) changes.sku = body.sku;
      if (body.quantity !== undefined) changes.quantity = body.quantity;
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
          .returning({ id: orders.id });
        if (!deleted) throw new OrdersNotFoundError(request.params.id);
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
