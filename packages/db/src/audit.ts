import { createHash } from 'node:crypto';
import { asc, desc, gt, is, sql } from 'drizzle-orm';
import { PgTransaction } from 'drizzle-orm/pg-core';
import type { Database, Queryable, Transaction } from './create-db.ts';
import { DbError } from './errors.ts';
import { auditLog } from './schema.ts';
import { uuidv7 } from './uuidv7.ts';

export type AuditOutcome = 'success' | 'failure' | 'denied';

export interface AuditEntry {
  /** Who: a key id, user id or service name. */
  actor: string;
  /** What, e.g. 'item.create'. */
  action: string;
  /** The kind of thing acted on, e.g. 'item'. */
  resource: string;
  resourceId?: string | null;
  outcome: AuditOutcome;
  traceId?: string | null;
  requestId?: string | null;
  /** JSON details; never secrets (redact before auditing). */
  details?: Record<string, unknown>;
  /** Defaults to now. */
  occurredAt?: Date;
}

export type AuditRecord = typeof auditLog.$inferSelect;

/** The previous hash of the first row. */
export const AUDIT_GENESIS_HASH = '0'.repeat(64);

const OUTCOMES = new Set<string>(['success', 'failure', 'denied']);

/** JSON with object keys sorted at every level, so jsonb's own key order never changes the hash. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) => {
    if (inner === null || typeof inner !== 'object' || Array.isArray(inner)) return inner;
    return Object.fromEntries(
      Object.entries(inner as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    );
  });
}

interface Hashed {
  id: string;
  occurredAt: Date;
  actor: string;
  action: string;
  resource: string;
  resourceId: string | null;
  outcome: string;
  traceId: string | null;
  requestId: string | null;
  details: Record<string, unknown>;
  prevHash: string;
}

function rowHash(row: Hashed): string {
  const content = canonical({
    v: 1,
    id: row.id,
    occurredAt: row.occurredAt.toISOString(),
    actor: row.actor,
    action: row.action,
    resource: row.resource,
    resourceId: row.resourceId,
    outcome: row.outcome,
    traceId: row.traceId,
    requestId: row.requestId,
    details: row.details,
    prevHash: row.prevHash,
  });
  return createHash('sha256').update(content).digest('hex');
}

function optionalText(name: string, value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value.length > 512) {
    throw new DbError('RAMPART_DB_AUDIT_ENTRY_INVALID', {
      detail: `${name} must be a string of at most 512`,
    });
  }
  if (!storable(value)) throw new DbError('RAMPART_DB_AUDIT_ENTRY_INVALID', { detail: unstorable(name) });
  return value;
}

/**
 * Text PostgreSQL stores as written. A NUL is refused by the server; an unpaired UTF-16 surrogate is stored
 * as U+FFFD, so the record read back no longer matches the hash computed from the entry and every later
 * verifyAuditChain() would report the trail as tampered with.
 */
function storable(text: string): boolean {
  return text.isWellFormed() && !text.includes('\0');
}

function unstorable(name: string): string {
  return `${name} must not contain NUL characters or unpaired UTF-16 surrogates (PostgreSQL cannot store them as written); clean or escape the text before auditing`;
}

function requiredText(name: string, value: unknown): string {
  const text = optionalText(name, value);
  if (text === null || text.trim() === '') {
    throw new DbError('RAMPART_DB_AUDIT_ENTRY_INVALID', { detail: `${name} is required` });
  }
  return text;
}

function validDetails(details: unknown): Record<string, unknown> {
  if (details === undefined) return {};
  if (typeof details !== 'object' || details === null || Array.isArray(details)) {
    throw new DbError('RAMPART_DB_AUDIT_ENTRY_INVALID', { detail: 'details must be a JSON object' });
  }
  let json: string;
  // jsonb rejects NUL characters and unpaired surrogates, in keys and values: refuse them here with a clear
  // error instead of a driver one.
  let clean = true;
  try {
    json = JSON.stringify(details, (key: string, value: unknown) => {
      if (!storable(key) || (typeof value === 'string' && !storable(value))) clean = false;
      return value;
    });
  } catch (error) {
    throw new DbError('RAMPART_DB_AUDIT_ENTRY_INVALID', { detail: 'details must be JSON', cause: error });
  }
  if (!clean) throw new DbError('RAMPART_DB_AUDIT_ENTRY_INVALID', { detail: unstorable('details') });
  // Store what JSON can represent, exactly as it will read back (undefined dropped, dates as strings).
  return JSON.parse(json) as Record<string, unknown>;
}

async function append(tx: Queryable<Record<string, unknown>>, entry: AuditEntry): Promise<AuditRecord> {
  const occurredAt = entry.occurredAt ?? new Date();
  if (!(occurredAt instanceof Date) || Number.isNaN(occurredAt.getTime())) {
    throw new DbError('RAMPART_DB_AUDIT_ENTRY_INVALID', { detail: 'occurredAt must be a valid Date' });
  }
  // PostgreSQL refuses years past 9999 as written by toISOString(), and drizzle reads years below 100 back
  // as 19xx/20xx: such a record would never verify.
  const year = occurredAt.getUTCFullYear();
  if (year < 100 || year > 9999) {
    throw new DbError('RAMPART_DB_AUDIT_ENTRY_INVALID', {
      detail: `occurredAt must be a Date in the years 100 to 9999, got ${occurredAt.toISOString()}`,
    });
  }
  if (!OUTCOMES.has(entry.outcome)) {
    throw new DbError('RAMPART_DB_AUDIT_ENTRY_INVALID', {
      detail: 'outcome must be success, failure or denied',
    });
  }
  const row: Hashed = {
    id: uuidv7(),
    occurredAt,
    actor: requiredText('actor', entry.actor),
    action: requiredText('action', entry.action),
    resource: requiredText('resource', entry.resource),
    resourceId: optionalText('resourceId', entry.resourceId),
    outcome: entry.outcome,
    traceId: optionalText('traceId', entry.traceId),
    requestId: optionalText('requestId', entry.requestId),
    details: validDetails(entry.details),
    prevHash: AUDIT_GENESIS_HASH,
  };
  // One appender at a time per schema, until commit: reading the head and appending to it is atomic.
  await tx.execute(
    sql`select pg_advisory_xact_lock(hashtextextended('rampart-db:audit_log:' || current_schema(), 0))`,
  );
  const [head] = await tx.select({ hash: auditLog.hash }).from(auditLog).orderBy(desc(auditLog.seq)).limit(1);
  row.prevHash = head?.hash ?? AUDIT_GENESIS_HASH;
  const [inserted] = await tx
    .insert(auditLog)
    .values({ ...row, hash: rowHash(row) })
    .returning();
  return inserted!;
}

/**
 * Appends one record to the audit trail inside the caller's transaction (it commits or rolls back with the
 * change it describes). Given the database instead, it opens a transaction of its own.
 *
 * @example
 * await db.transaction(async (tx) => {
 *   await tx.insert(items).values(item);
 *   await audit(tx, { actor: keyId, action: 'item.create', resource: 'item', resourceId: item.id, outcome: 'success' });
 * });
 */
export async function audit<TSchema extends Record<string, unknown>>(
  tx: Queryable<TSchema>,
  entry: AuditEntry,
): Promise<AuditRecord> {
  if (typeof entry !== 'object' || entry === null) {
    throw new DbError('RAMPART_DB_AUDIT_ENTRY_INVALID', { detail: 'entry must be an object' });
  }
  const target = tx as unknown as Queryable<Record<string, unknown>>;
  if (is(target, PgTransaction)) return append(target, entry);
  return (target as Database<Record<string, unknown>>).transaction((own) =>
    append(own as Transaction<Record<string, unknown>>, entry),
  );
}

export type AuditChainResult =
  | { ok: true; count: number; headHash: string }
  | {
      ok: false;
      count: number;
      /** The first row that does not verify (or the missing anchor). */
      brokenAt: { seq: number | null; id: string | null };
      reason: 'hash-mismatch' | 'prev-mismatch' | 'anchor-missing';
    };

export interface VerifyAuditChainOptions {
  /** Rows read per query. Default 1000. */
  batchSize?: number;
  /**
   * A head hash recorded earlier (e.g. logged daily): the chain must still contain it, which detects a
   * truncated tail that the chain alone cannot.
   */
  anchor?: string;
}

/**
 * Recomputes every row's hash in chain order: an altered row fails its own hash, a removed row breaks its
 * successor's link.
 */
export async function verifyAuditChain<TSchema extends Record<string, unknown>>(
  db: Queryable<TSchema>,
  options: VerifyAuditChainOptions = {},
): Promise<AuditChainResult> {
  const batchSize = options.batchSize ?? 1_000;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new DbError('RAMPART_DB_OPTIONS_INVALID', { detail: 'batchSize must be an integer >= 1' });
  }
  const target = db as unknown as Queryable<Record<string, unknown>>;
  let previous = AUDIT_GENESIS_HASH;
  let count = 0;
  let lastSeq = 0;
  let anchorSeen = options.anchor === undefined;
  for (;;) {
    const rows = await target
      .select()
      .from(auditLog)
      .where(gt(auditLog.seq, lastSeq))
      .orderBy(asc(auditLog.seq))
      .limit(batchSize);
    for (const row of rows) {
      const brokenAt = { seq: row.seq, id: row.id };
      if (row.prevHash !== previous) return { ok: false, count, brokenAt, reason: 'prev-mismatch' };
      if (rowHash(row) !== row.hash) return { ok: false, count, brokenAt, reason: 'hash-mismatch' };
      if (row.hash === options.anchor) anchorSeen = true;
      previous = row.hash;
      lastSeq = row.seq;
      count += 1;
    }
    if (rows.length < batchSize) break;
  }
  if (!anchorSeen) return { ok: false, count, brokenAt: { seq: null, id: null }, reason: 'anchor-missing' };
  return { ok: true, count, headHash: previous };
}
