import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { SecurityError } from './errors.ts';

/** One key of the ring: a positive integer version and 32 random bytes, base64-encoded. */
export interface FieldKey {
  version: number;
  key: string;
}

/** Where an encrypted value lives: the AAD binds it there, so a value copied elsewhere fails to decrypt. */
export interface FieldContext {
  table: string;
  column: string;
  rowId: string;
}

export interface FieldCipherOptions {
  /** The key ring. The highest version encrypts unless `currentVersion` says otherwise; all decrypt. */
  keys: readonly FieldKey[];
  currentVersion?: number;
}

export interface FieldCipher {
  readonly currentVersion: number;
  /** Every ciphertext written with the current key starts with this (for SQL `LIKE` filters). */
  readonly currentPrefix: string;
  encrypt(plaintext: string, context: FieldContext): string;
  /** Throws RAMPART_SECURITY_CIPHERTEXT_INVALID on any tampering, truncation or move; never returns garbage. */
  decrypt(ciphertext: string, context: FieldContext): string;
  /** The key version a ciphertext names, or undefined when it is not one of ours. */
  versionOf(ciphertext: string): number | undefined;
}

const IV_BYTES = 12;
const TAG_BYTES = 16;
const FORMAT = /^enc:v([1-9]\d{0,8}):([A-Za-z0-9_-]+)$/;

function aad(version: number, context: FieldContext): Buffer {
  // Length-prefixed parts, so ("ab","c") and ("a","bc") can never produce the same AAD.
  const parts = ['rampart-field-v1', String(version), context.table, context.column, context.rowId];
  return Buffer.concat(
    parts.map((part) => {
      const bytes = Buffer.from(part, 'utf8');
      const length = Buffer.alloc(4);
      length.writeUInt32BE(bytes.length);
      return Buffer.concat([length, bytes]);
    }),
  );
}

function invalidOptions(detail: string): SecurityError {
  return new SecurityError('RAMPART_SECURITY_OPTIONS_INVALID', { detail });
}

/** A context's parts must be strings: a number or undefined would be bound as whatever String() makes of it. */
function checkContext(context: FieldContext): void {
  if (
    typeof context !== 'object' ||
    context === null ||
    typeof context.table !== 'string' ||
    typeof context.column !== 'string' ||
    typeof context.rowId !== 'string' ||
    context.table === '' ||
    context.column === '' ||
    context.rowId === ''
  ) {
    throw invalidOptions(
      'field context: table, column and rowId must be non-empty strings (String(id) for a number)',
    );
  }
}

/** The 32 key bytes, from canonical base64 or base64url (padded or not): nothing skipped, nothing guessed. */
function keyBytes(version: number, text: unknown): Buffer {
  const bytes = Buffer.from(typeof text === 'string' ? text : '', 'base64');
  const canonical = [bytes.toString('base64'), bytes.toString('base64url')];
  if (bytes.length !== 32 || !canonical.some((form) => form === text || form.replace(/=+$/, '') === text)) {
    throw invalidOptions(`key version ${version} must be 32 bytes, base64`);
  }
  // All one byte value (an all-zero key, 'A' x 43): a placeholder, not a key.
  if (bytes.every((byte) => byte === bytes[0])) {
    throw invalidOptions(`key version ${version} is ${bytes.length} identical bytes: generate a random key`);
  }
  return bytes;
}

/**
 * AES-256-GCM field encryption over a versioned key ring: random 96-bit IVs, 16-byte tags enforced, AAD
 * binding each value to table, column and row id. Output: `enc:v<version>:<base64url(iv|ciphertext|tag)>`.
 *
 * @example
 * const cipher = createFieldCipher({ keys: [{ version: 1, key: randomBytes(32).toString('base64') }] });
 * const stored = cipher.encrypt('123-45-6789', { table: 'people', column: 'ssn', rowId: id });
 * cipher.decrypt(stored, { table: 'people', column: 'ssn', rowId: id }); // '123-45-6789'
 */
export function createFieldCipher(options: FieldCipherOptions): FieldCipher {
  const ring = new Map<number, Buffer>();
  if (!Array.isArray(options?.keys)) throw invalidOptions('keys must be an array of { version, key }');
  for (const entry of options.keys) {
    if (typeof entry !== 'object' || entry === null)
      throw invalidOptions('each key must be { version, key }');
    if (!Number.isInteger(entry.version) || entry.version < 1 || entry.version > 999_999_999) {
      throw invalidOptions('key versions must be integers from 1');
    }
    if (ring.has(entry.version)) throw invalidOptions(`key version ${entry.version} appears twice`);
    const key = keyBytes(entry.version, entry.key);
    for (const [version, other] of ring) {
      // One key under two versions: re-encrypting "to the new key" would change nothing.
      if (other.equals(key))
        throw invalidOptions(`key versions ${version} and ${entry.version} are the same key`);
    }
    ring.set(entry.version, key);
  }
  if (ring.size === 0) throw invalidOptions('the key ring is empty');
  const currentVersion = options.currentVersion ?? Math.max(...ring.keys());
  const currentKey = ring.get(currentVersion);
  if (!currentKey) throw invalidOptions(`currentVersion ${currentVersion} is not in the key ring`);

  const tampered = (cause?: unknown) => new SecurityError('RAMPART_SECURITY_CIPHERTEXT_INVALID', { cause });

  return {
    currentVersion,
    currentPrefix: `enc:v${currentVersion}:`,
    encrypt(plaintext, context) {
      if (typeof plaintext !== 'string') throw invalidOptions('the plaintext must be a string');
      checkContext(context);
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', currentKey, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(aad(currentVersion, context));
      const body = Buffer.concat([iv, cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
      return `enc:v${currentVersion}:${body.toString('base64url')}`;
    },
    decrypt(ciphertext, context) {
      checkContext(context);
      const match = typeof ciphertext === 'string' ? FORMAT.exec(ciphertext) : null;
      if (!match) throw tampered();
      const version = Number(match[1]);
      const key = ring.get(version);
      if (!key) throw new SecurityError('RAMPART_SECURITY_ENCRYPTION_KEY_UNKNOWN', { detail: `v${version}` });
      const body = Buffer.from(match[2]!, 'base64url');
      // base64url decoding ignores stray characters: re-encode to insist on the canonical form.
      if (body.length < IV_BYTES + TAG_BYTES || body.toString('base64url') !== match[2]) throw tampered();
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, body.subarray(0, IV_BYTES), {
          authTagLength: TAG_BYTES,
        });
        decipher.setAAD(aad(version, context));
        decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
        const plain = Buffer.concat([
          decipher.update(body.subarray(IV_BYTES, body.length - TAG_BYTES)),
          decipher.final(),
        ]);
        return plain.toString('utf8');
      } catch (error) {
        throw tampered(error);
      }
    },
    versionOf(ciphertext) {
      const match = typeof ciphertext === 'string' ? FORMAT.exec(ciphertext) : null;
      return match ? Number(match[1]) : undefined;
    },
  };
}
