import { uuidv7PrimaryKey } from '@rampart/db';
import { integer, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/**
 * An order: what was bought and by whom (the email is encrypted at rest).
 * Encrypted fields are stored as `enc:v<key version>:...` ciphertext bound to this table, their column and
 * the row id (AES-256-GCM, @rampart/security); routes.ts seals and opens them, plaintext never reaches SQL.
 */
export const orders = pgTable('orders', {
  id: uuidv7PrimaryKey(),
  customerEmail: text('customer_email').notNull(),
  sku: text('sku').notNull(),
  quantity: integer('quantity').notNull(),
  /** The stock inventory holds for this order; released (through a task) when the order is deleted. */
  reservationId: uuid('reservation_id').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

export type OrdersRow = typeof orders.$inferSelect;
