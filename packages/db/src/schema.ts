import { sql } from 'drizzle-orm';
import { bigint, check, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { uuidv7PrimaryKey } from './uuidv7.ts';

/**
 * The audit trail. Append-only (a trigger in the migrations rejects UPDATE, DELETE and TRUNCATE), and each
 * row's `hash` covers its content and the previous row's hash, so an edit or a removal breaks the chain.
 */
export const auditLog = pgTable(
  'audit_log',
  {
    id: uuidv7PrimaryKey(),
    // Chain order: assigned while the appender holds the chain lock, so it follows commit order.
    seq: bigint('seq', { mode: 'number' }).generatedAlwaysAsIdentity().notNull().unique(),
    occurredAt: timestamp('occurred_at', { withTimezone: true, mode: 'date' }).notNull(),
    actor: text('actor').notNull(),
    action: text('action').notNull(),
    resource: text('resource').notNull(),
    resourceId: text('resource_id'),
    outcome: text('outcome').notNull(),
    traceId: text('trace_id'),
    requestId: text('request_id'),
    details: jsonb('details').$type<Record<string, unknown>>().notNull(),
    // Unique: two appenders can never both extend the same row (a fork fails instead of forking).
    prevHash: text('prev_hash').notNull().unique(),
    hash: text('hash').notNull().unique(),
  },
  (table) => [check('audit_log_outcome_check', sql`${table.outcome} in ('success', 'failure', 'denied')`)],
);
