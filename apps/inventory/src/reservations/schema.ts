import { uuidv7PrimaryKey } from '@rampart/db';
import { integer, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/**
 * Stock held for an order: one per order id, taken from stock when it is made.
 */
export const reservations = pgTable('reservations', {
  id: uuidv7PrimaryKey(),
  orderId: uuid('order_id').notNull().unique(),
  sku: text('sku').notNull(),
  quantity: integer('quantity').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

export type ReservationsRow = typeof reservations.$inferSelect;
