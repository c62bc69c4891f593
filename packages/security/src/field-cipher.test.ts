import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createFieldCipher, type FieldContext } from './field-cipher.ts';

const key = () => randomBytes(32).toString('base64');
const ring = [
  { version: 1, key: key() },
  { version: 2, key: key() },
];
const cipher = createFieldCipher({ keys: ring });

const contextArb = fc.record({
  table: fc.string({ minLength: 1, maxLength: 20 }),
  column: fc.string({ minLength: 1, maxLength: 20 }),
  rowId: fc.uuid(),
});

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
}

describe('createFieldCipher', () => {
  it('round-trips any text, encrypting with the newest key', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), contextArb, (plaintext, context) => {
        const stored = cipher.encrypt(plaintext, context);
        expect(stored.startsWith('enc:v2:')).toBe(true);
        expect(cipher.decrypt(stored, context)).toBe(plaintext);
      }),
      { numRuns: 300 },
    );
  });

  it('detects any single-bit flip anywhere in the stored bytes with a coded error, never garbage', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 64 }),
        contextArb,
        fc.nat(),
        fc.integer({ min: 0, max: 7 }),
        (text, context, at, bit) => {
          const stored = cipher.encrypt(text, context);
          const [prefix, version, body] = stored.split(':') as [string, string, string];
          const bytes = Buffer.from(body, 'base64url');
          const index = at % bytes.length;
          bytes[index] = bytes[index]! ^ (1 << bit);
          const tampered = `${prefix}:${version}:${bytes.toString('base64url')}`;
          expect(codeOf(() => cipher.decrypt(tampered, context))).toBe('RAMPART_SECURITY_CIPHERTEXT_INVALID');
        },
      ),
      { numRuns: 300 },
    );
  });

  it('rejects truncated, extended and malformed values', () => {
    const context = { table: 't', column: 'c', rowId: '1' };
    const stored = cipher.encrypt('secret', context);
    for (const bad of [
      stored.slice(0, -2),
      `${stored}AA`,
      'enc:v2:',
      'enc:v2:!!!!',
      'plain',
      '',
      'enc:v2:AAAA',
    ]) {
      expect(codeOf(() => cipher.decrypt(bad, context))).toBe('RAMPART_SECURITY_CIPHERTEXT_INVALID');
    }
    expect(codeOf(() => cipher.decrypt(stored.replace('enc:v2:', 'enc:v9:'), context))).toBe(
      'RAMPART_SECURITY_ENCRYPTION_KEY_UNKNOWN',
    );
    // Relabelling the version makes the other key try it: still an authentication failure.
    expect(codeOf(() => cipher.decrypt(stored.replace('enc:v2:', 'enc:v1:'), context))).toBe(
      'RAMPART_SECURITY_CIPHERTEXT_INVALID',
    );
  });

  it('refuses a value moved to another table, column or row', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 40 }),
        contextArb,
        contextArb,
        (text, from: FieldContext, to: FieldContext) => {
          fc.pre(from.table !== to.table || from.column !== to.column || from.rowId !== to.rowId);
          const stored = cipher.encrypt(text, from);
          expect(codeOf(() => cipher.decrypt(stored, to))).toBe('RAMPART_SECURITY_CIPHERTEXT_INVALID');
        },
      ),
      { numRuns: 300 },
    );
  });

  it('binds parts unambiguously: ("ab","c") is not ("a","bc")', () => {
    const stored = cipher.encrypt('x', { table: 'ab', column: 'c', rowId: '1' });
    expect(codeOf(() => cipher.decrypt(stored, { table: 'a', column: 'bc', rowId: '1' }))).toBe(
      'RAMPART_SECURITY_CIPHERTEXT_INVALID',
    );
  });

  it('never reuses an IV, even for the same plaintext and context', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 20 }),
        contextArb,
        fc.integer({ min: 2, max: 50 }),
        (text, context, count) => {
          const ivs = new Set<string>();
          for (let index = 0; index < count; index += 1) {
            const body = Buffer.from(cipher.encrypt(text, context).split(':')[2]!, 'base64url');
            ivs.add(body.subarray(0, 12).toString('hex'));
          }
          expect(ivs.size).toBe(count);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('stores a 12-byte IV and a 16-byte tag around the ciphertext', () => {
    const body = Buffer.from(
      cipher.encrypt('abc', { table: 't', column: 'c', rowId: 'r' }).split(':')[2]!,
      'base64url',
    );
    expect(body.length).toBe(12 + 3 + 16);
  });

  it('decrypts values written under an older key after rotation', () => {
    const old = createFieldCipher({ keys: ring.slice(0, 1) });
    const context = { table: 't', column: 'c', rowId: 'r' };
    const stored = old.encrypt('kept', context);
    expect(cipher.versionOf(stored)).toBe(1);
    expect(cipher.decrypt(stored, context)).toBe('kept');
  });

  it.each([
    [{ keys: [] }],
    [{ keys: [{ version: 1, key: 'c2hvcnQ=' }] }],
    [{ keys: [{ version: 0, key: key() }] }],
    [
      {
        keys: [
          { version: 1, key: key() },
          { version: 1, key: key() },
        ],
      },
    ],
    [{ keys: [{ version: 1, key: key() }], currentVersion: 2 }],
    [{ keys: [null] }],
    [{ keys: 'abc' }],
    [{ keys: [{ version: 1, key: `${'A'.repeat(43)}=` }] }],
    [{ keys: [{ version: 1, key: Buffer.alloc(32, 7).toString('base64') }] }],
    [{ keys: [{ version: 1, key: `${ring[0]!.key.slice(0, 10)} !!! ${ring[0]!.key.slice(10)}` }] }],
    [
      {
        keys: [
          { version: 1, key: ring[0]!.key },
          { version: 2, key: ring[0]!.key },
        ],
      },
    ],
  ])('rejects an invalid key ring at create time (%#)', (options) => {
    expect(codeOf(() => createFieldCipher(options as never))).toBe('RAMPART_SECURITY_OPTIONS_INVALID');
  });

  it('accepts a key in base64url or without padding, the same bytes as base64', () => {
    const bytes = randomBytes(32);
    const stored = createFieldCipher({ keys: [{ version: 1, key: bytes.toString('base64') }] }).encrypt('x', {
      table: 't',
      column: 'c',
      rowId: 'r',
    });
    for (const text of [bytes.toString('base64url'), bytes.toString('base64').replace(/=+$/, '')]) {
      const other = createFieldCipher({ keys: [{ version: 1, key: text }] });
      expect(other.decrypt(stored, { table: 't', column: 'c', rowId: 'r' })).toBe('x');
    }
  });

  it('refuses a context or plaintext that is not strings with a coded error, not a TypeError', () => {
    const context = { table: 'people', column: 'ssn', rowId: '1' };
    const stored = cipher.encrypt('x', context);
    for (const bad of [
      { ...context, rowId: 7 },
      { ...context, rowId: undefined },
      { ...context, table: '' },
      null,
    ]) {
      expect(codeOf(() => cipher.encrypt('x', bad as never))).toBe('RAMPART_SECURITY_OPTIONS_INVALID');
      expect(codeOf(() => cipher.decrypt(stored, bad as never))).toBe('RAMPART_SECURITY_OPTIONS_INVALID');
    }
    for (const plaintext of [123, null, Buffer.from('hi')]) {
      expect(codeOf(() => cipher.encrypt(plaintext as never, context))).toBe(
        'RAMPART_SECURITY_OPTIONS_INVALID',
      );
    }
    expect(cipher.versionOf(1 as never)).toBeUndefined();
  });
});
