import { uuidv7PrimaryKey } from '@rampart/db';
import { sql } from 'drizzle-orm';
import { check, integer, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * Stock on hand per SKU: one row per SKU, never below zero (the database holds both rules, so no race
 * between two reservations can break them).
 */
export const stock = pgTable(
  'stock',
  {
    id: uuidv7PrimaryKey(),
    sku: text('sku').notNull().unique(),
    available: integer('available').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [check('stock_available_not_negative', sql`${table.available} >= 0`)],
);

export type StockRow = typeof stock.$inferSelect;
