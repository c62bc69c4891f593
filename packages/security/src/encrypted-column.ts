import { customType } from 'drizzle-orm/pg-core';
import { SecurityError } from './errors.ts';
import type { FieldCipher } from './field-cipher.ts';

/** An encrypted value as the application holds it: the stored text, and a way to open it for its row. */
export interface SealedField {
  readonly table: string;
  readonly column: string;
  readonly ciphertext: string;
  readonly keyVersion: number | undefined;
  /**
   * The row the value is sealed for: the one `sealField` was given, or, for a value read from the database,
   * the row it last opened for (undefined until then: the column is not told which row it is reading).
   * Compare it with the row you write the value to; the column cannot (see `encryptedColumn`).
   */
  readonly rowId: string | undefined;
  /** Decrypts for the row it belongs to; a value moved from another row, column or table fails with a code. */
  open(rowId: string): string;
}

function sealed(
  cipher: FieldCipher,
  table: string,
  column: string,
  ciphertext: string,
  sealedFor: string | undefined,
): SealedField {
  let rowId = sealedFor;
  return {
    table,
    column,
    ciphertext,
    keyVersion: cipher.versionOf(ciphertext),
    get rowId() {
      return rowId;
    },
    open: (openFor: string) => {
      const plaintext = cipher.decrypt(ciphertext, { table, column, rowId: openFor });
      rowId = openFor;
      return plaintext;
    },
    // Never print the ciphertext (or anything) when logged by accident.
    toJSON: () => '[encrypted]',
  } as SealedField;
}

/** Encrypts `plaintext` for one cell, ready to insert or update through an encrypted column. */
export function sealField(
  cipher: FieldCipher,
  cell: { table: string; column: string; rowId: string },
  plaintext: string,
): SealedField {
  return sealed(cipher, cell.table, cell.column, cipher.encrypt(plaintext, cell), cell.rowId);
}

/**
 * A drizzle `text` column holding AES-256-GCM ciphertext bound to its table, column and row. `table` and
 * `column` are the SQL names (the re-encrypt task derives the same context from the table object).
 *
 * A value sealed for another table or column is refused when written (RAMPART_SECURITY_CIPHERTEXT_INVALID).
 * One sealed for another row is not: drizzle hands the column the value alone, never the row it goes to, so
 * a value copied from another row (`insert({ id: 'b', ssn: rowA.ssn })`) or sealed with the wrong `rowId` is
 * stored and fails to open for its new row. To copy, open and seal again for the new row:
 * `sealField(cipher, { table, column, rowId: 'b' }, rowA.ssn.open(rowA.id))`; `SealedField.rowId` says which
 * row a value is sealed for.
 *
 * @example
 * export const people = pgTable('people', {
 *   id: text('id').primaryKey(),
 *   ssn: encryptedColumn(cipher, { table: 'people', column: 'ssn' }),
 * });
 * await db.insert(people).values({ id, ssn: sealField(cipher, { table: 'people', column: 'ssn', rowId: id }, '123') });
 * const [row] = await db.select().from(people); row.ssn.open(row.id); // '123'
 */
export function encryptedColumn(cipher: FieldCipher, where: { table: string; column: string }) {
  const { table, column } = where;
  return customType<{ data: SealedField; driverData: string }>({
    dataType: () => 'text',
    toDriver(value) {
      if (value?.table !== table || value.column !== column) {
        throw new SecurityError('RAMPART_SECURITY_CIPHERTEXT_INVALID', {
          detail: `a value sealed for ${value?.table}.${value?.column} was written to ${table}.${column}`,
        });
      }
      return value.ciphertext;
    },
    fromDriver: (value) => sealed(cipher, table, column, value, undefined),
  })(column);
}
