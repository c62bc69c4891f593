import type { Database } from '@rampart/db';
import { and, asc, getTableName, gt, isNotNull, sql } from 'drizzle-orm';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';
import { SecurityError } from './errors.ts';
import type { FieldCipher } from './field-cipher.ts';

export interface ReencryptOptions {
  // biome-ignore lint/suspicious/noExplicitAny: any drizzle schema; the columns passed in name the table.
  db: Database<any>;
  cipher: FieldCipher;
  table: PgTable;
  /** The primary key; its text is the row id in the AAD. */
  idColumn: PgColumn;
  /** An encrypted column (see encryptedColumn) of `table`. */
  column: PgColumn;
  /** Rows read and rewritten per transaction. Default 500. */
  batchSize?: number;
  signal?: AbortSignal;
}

export interface ReencryptResult {
  scanned: number;
  moved: number;
  /** Ids of rows that failed to decrypt (tampered or moved): left untouched for a human to look at. */
  failed: string[];
}

/**
 * Moves every value of one encrypted column to the cipher's current key, in keyset-paged batches, each batch
 * in its own transaction. A row changed concurrently is left alone (its writer already used the current key).
 * Safe to re-run; @rampart/tasks schedules it.
 */
export async function reencryptColumn(options: ReencryptOptions): Promise<ReencryptResult> {
  const { db, cipher, table, idColumn, column, signal } = options;
  const batchSize = options.batchSize ?? 500;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) {
    throw new SecurityError('RAMPART_SECURITY_OPTIONS_INVALID', { detail: 'batchSize must be 1-10000' });
  }
  const context = { table: getTableName(table), column: column.name };
  const result: ReencryptResult = { scanned: 0, moved: 0, failed: [] };
  let after: string | undefined;
  for (;;) {
    signal?.throwIfAborted();
    const rows = await db
      .select({ id: sql<string>`${idColumn}::text`, value: sql<string>`${column}` })
      .from(table)
      .where(
        and(
          isNotNull(column),
          // Plain parameters, not notLike(column, ...): that would run the pattern through the column's encoder.
          sql`${column} not like ${`${cipher.currentPrefix}%`}`,
          after === undefined ? undefined : gt(sql`${idColumn}::text`, after),
        ),
      )
      .orderBy(asc(sql`${idColumn}::text`))
      .limit(batchSize);
    if (rows.length === 0) return result;
    after = rows[rows.length - 1]!.id;
    result.scanned += rows.length;
    const updates: { id: string; from: string; to: string }[] = [];
    for (const row of rows) {
      try {
        const plaintext = cipher.decrypt(row.value, { ...context, rowId: row.id });
        updates.push({
          id: row.id,
          from: row.value,
          to: cipher.encrypt(plaintext, { ...context, rowId: row.id }),
        });
      } catch {
        if (result.failed.length < 1_000) result.failed.push(row.id);
      }
    }
    await db.transaction(async (tx) => {
      for (const update of updates) {
        const changed = await tx.execute(
          sql`update ${table} set ${sql.identifier(column.name)} = ${update.to}
              where ${idColumn}::text = ${update.id} and ${column} = ${update.from}`,
        );
        result.moved += Number(
          (changed as { affectedRows?: number; rowCount?: number }).affectedRows ??
            (changed as { rowCount?: number }).rowCount ??
            0,
        );
      }
    });
  }
}

/** How many values of the column are not on the cipher's current key (0 once re-encryption is done). */
export async function countStaleValues(
  options: Pick<ReencryptOptions, 'db' | 'cipher' | 'table' | 'column'>,
) {
  const [row] = await options.db
    .select({ count: sql<number>`count(*)::int` })
    .from(options.table)
    .where(
      and(isNotNull(options.column), sql`${options.column} not like ${`${options.cipher.currentPrefix}%`}`),
    );
  return Number(row?.count ?? 0);
}
