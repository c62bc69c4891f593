import { sql } from 'drizzle-orm';
import { index, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * API keys: the public id and a peppered SHA-256 (HMAC) of the secret, never the secret itself. Rotation
 * links the old key to its successor and gives it an expiry at the end of the overlap window.
 */
export const apiKeys = pgTable(
  'rampart_api_keys',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    env: text('env').notNull(),
    secretHash: text('secret_hash').notNull(),
    scopes: text('scopes').array().notNull().default(sql`'{}'::text[]`),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }),
    revokedAt: timestamp('revoked_at', { withTimezone: true, mode: 'date' }),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true, mode: 'date' }),
    replacedBy: text('replaced_by'),
  },
  (table) => [index('rampart_api_keys_name_idx').on(table.name)],
);

export type ApiKeyRow = typeof apiKeys.$inferSelect;
