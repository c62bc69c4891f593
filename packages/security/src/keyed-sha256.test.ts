import { createHmac, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createKeyedSha256 } from './keyed-sha256.ts';

const reference = (key: string, message: string) => createHmac('sha256', key).update(message).digest();

// Keys shorter and longer than SHA-256's 64-byte block (longer ones are hashed first), multi-byte text,
// and messages on both sides of the scratch buffer's limit.
const keys = fc.oneof(
  fc.string({ minLength: 1, maxLength: 100 }),
  fc.string({ unit: 'grapheme', maxLength: 60 }),
);
const messages = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.string({ unit: 'grapheme', maxLength: 140 }),
  fc.stringMatching(/^[A-Za-z0-9]{43}$/),
);

describe('createKeyedSha256', () => {
  it('gives exactly the digests createHmac gives, for any key and message', () => {
    fc.assert(
      fc.property(keys, fc.array(messages, { minLength: 1, maxLength: 5 }), (key, batch) => {
        const hmac = createKeyedSha256(key);
        // Several messages through one instance: nothing of one call leaks into the next.
        for (const message of batch) {
          const expected = reference(key, message);
          expect(hmac.hex(message)).toBe(expected.toString('hex'));
          expect(hmac.matches(message, expected)).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('rejects any other digest, and digests of the wrong length without throwing', () => {
    fc.assert(
      fc.property(keys, messages, fc.integer({ min: 0, max: 255 }), (key, message, bit) => {
        const hmac = createKeyedSha256(key);
        const tampered = Buffer.from(reference(key, message));
        tampered[bit >> 3] = (tampered[bit >> 3] as number) ^ (1 << (bit & 7));
        expect(hmac.matches(message, tampered)).toBe(false);
        expect(hmac.matches(message, reference(key, message).subarray(0, 31))).toBe(false);
        expect(hmac.matches(message, randomBytes(33))).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('matches RFC 4231 test case 2', () => {
    // The one case whose key and data are text; the property above covers keys longer than a block.
    expect(createKeyedSha256('Jefe').hex('what do ya want for nothing?')).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
  });
});
