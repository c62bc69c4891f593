import { uuidv7PrimaryKey } from '@rampart/db';
import { pgTable, text, timestamp } from 'drizzle-orm/pg-core';

export const items = pgTable('items', {
  id: uuidv7PrimaryKey(),
  name: text('name').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

export type Item = typeof items.$inferSelect;
