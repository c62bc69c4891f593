import { uuidv7PrimaryKey } from '@rampart/db';
import { integer, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * Stock on hand per SKU.
 */
export const stock = pgTable('stock', {
  id: uuidv7PrimaryKey(),
  sku: text('sku').notNull(),
  available: integer('available').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

export type StockRow = typeof stock.$inferSelect;
