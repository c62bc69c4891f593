import { randomBytes } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '@rampart/db/testing';
import { eq, sql } from 'drizzle-orm';
import { pgTable, text } from 'drizzle-orm/pg-core';
import { afterEach, describe, expect, it } from 'vitest';
import { encryptedColumn, sealField } from './encrypted-column.ts';
import { createFieldCipher, type FieldKey } from './field-cipher.ts';
import { countStaleValues, reencryptColumn } from './reencrypt.ts';

const v1: FieldKey = { version: 1, key: randomBytes(32).toString('base64') };
const v2: FieldKey = { version: 2, key: randomBytes(32).toString('base64') };
const before = createFieldCipher({ keys: [v1] });
const after = createFieldCipher({ keys: [v1, v2] });

// The schema a service writes: one line per encrypted column. Both ciphers read the same stored text.
const peopleWith = (cipher = after) =>
  pgTable('people', {
    id: text('id').primaryKey(),
    ssn: encryptedColumn(cipher, { table: 'people', column: 'ssn' }),
  });
const people = peopleWith();

let database: TestDatabase | undefined;
afterEach(async () => {
  await database?.close();
  database = undefined;
});

async function seed(count: number) {
  database = await createTestDatabase();
  const { db } = database;
  await db.execute(sql`create table people (id text primary key, ssn text)`);
  const oldPeople = peopleWith(before);
  const rows = Array.from({ length: count }, (_, index) => {
    const id = `p${String(index).padStart(5, '0')}`;
    return { id, ssn: sealField(before, { table: 'people', column: 'ssn', rowId: id }, `ssn-${index}`) };
  });
  for (let start = 0; start < rows.length; start += 500)
    await db.insert(oldPeople).values(rows.slice(start, start + 500));
  await db.insert(people).values({ id: 'p-null', ssn: null });
  return db;
}

describe('encryptedColumn', () => {
  it('round-trips through drizzle in one line and refuses a value copied to another row', async () => {
    const db = await seed(2);
    const [first] = await db.select().from(people).where(eq(people.id, 'p00000'));
    expect(first!.ssn!.open('p00000')).toBe('ssn-0');
    expect(first!.ssn!.keyVersion).toBe(1);
    expect(JSON.stringify(first)).not.toContain('enc:');
    // Copy row 0's ciphertext into row 1 at the SQL level: it must not open as row 1's.
    await db.execute(
      sql`update people set ssn = (select ssn from people where id = 'p00000') where id = 'p00001'`,
    );
    const [moved] = await db.select().from(people).where(eq(people.id, 'p00001'));
    expect(() => moved!.ssn!.open('p00001')).toThrow(
      expect.objectContaining({ code: 'RAMPART_SECURITY_CIPHERTEXT_INVALID' }),
    );
  });

  it('says which row a value is sealed for, and copies to another row by opening and sealing again', async () => {
    const db = await seed(1);
    const [row] = await db.select().from(people).where(eq(people.id, 'p00000'));
    expect(row!.ssn!.rowId).toBeUndefined();
    const plaintext = row!.ssn!.open('p00000');
    expect(row!.ssn!.rowId).toBe('p00000');
    const copy = sealField(after, { table: 'people', column: 'ssn', rowId: 'copy' }, plaintext);
    expect(copy.rowId).toBe('copy');
    await db.insert(people).values({ id: 'copy', ssn: copy });
    const [copied] = await db.select().from(people).where(eq(people.id, 'copy'));
    expect(copied!.ssn!.open('copy')).toBe('ssn-0');
    // A failed open does not claim the row.
    expect(() => copied!.ssn!.open('p00000')).toThrow(
      expect.objectContaining({ code: 'RAMPART_SECURITY_CIPHERTEXT_INVALID' }),
    );
    expect(copied!.ssn!.rowId).toBe('copy');
  });

  it('refuses to write a value sealed for another column', async () => {
    const db = await seed(0);
    const wrong = sealField(after, { table: 'people', column: 'other', rowId: 'x' }, 'v');
    await expect(db.insert(people).values({ id: 'x', ssn: wrong })).rejects.toThrow();
  });
});

describe('reencryptColumn', () => {
  it('after rotation and re-encryption, zero rows remain on the old key and every value still opens', async () => {
    const db = await seed(1_234);
    const target = { db, cipher: after, table: people, column: people.ssn };
    expect(await countStaleValues(target)).toBe(1_234);
    // One row tampered at rest: reported, left alone, never turned into garbage.
    await db.execute(
      sql`update people set ssn = overlay(ssn placing (case when substr(ssn, 30, 1) = 'A' then 'B' else 'A' end)
          from 30 for 1) where id = 'p00007'`,
    );
    const first = await reencryptColumn({ ...target, idColumn: people.id, batchSize: 100 });
    expect(first).toEqual({ scanned: 1_234, moved: 1_233, failed: ['p00007'] });
    expect(await countStaleValues(target)).toBe(1);
    await db.delete(people).where(eq(people.id, 'p00007'));
    expect(await countStaleValues(target)).toBe(0);
    const rows = await db.select().from(people).where(sql`${people.ssn} is not null`);
    expect(rows.length).toBe(1_233);
    for (const row of rows) {
      expect(row.ssn!.keyVersion).toBe(2);
      expect(row.ssn!.open(row.id)).toBe(`ssn-${Number(row.id.slice(1))}`);
    }
    // A second run finds nothing to do.
    expect(await reencryptColumn({ ...target, idColumn: people.id })).toEqual({
      scanned: 0,
      moved: 0,
      failed: [],
    });
  });
});
