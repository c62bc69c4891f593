import { randomInt } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const ENV_MAX = 16;
const ID_LENGTH = 16;
const SECRET_LENGTH = 43;
const KEY_FORMAT = new RegExp(
  `^rk_([a-z0-9]{1,${ENV_MAX}})_([A-Za-z0-9]{${ID_LENGTH}})_([A-Za-z0-9]{${SECRET_LENGTH}})$`,
);
// The id sits at a fixed distance from the end (env's length varies): `_<id>_<secret>`.
const ID_END = 1 + SECRET_LENGTH;
const KEY_LENGTH = {
  min: 'rk_'.length + 1 + 1 + ID_LENGTH + ID_END,
  max: 'rk_'.length + ENV_MAX + 1 + ID_LENGTH + ID_END,
};

/** The parts of a presented key. The id is public (it names the row); the secret is shown once. */
export interface ParsedApiKey {
  env: string;
  id: string;
  secret: string;
}

// Unbiased base62 from the CSPRNG (randomInt rejects out-of-range draws).
function base62(length: number): string {
  let out = '';
  for (let index = 0; index < length; index += 1) out += ALPHABET[randomInt(ALPHABET.length)];
  return out;
}

/** A new key: `rk_<env>_<16-char id>_<43-char secret>` (about 256 bits of secret). */
export function generateApiKey(env: string): ParsedApiKey & { key: string } {
  const id = base62(ID_LENGTH);
  const secret = base62(SECRET_LENGTH);
  return { env, id, secret, key: `rk_${env}_${id}_${secret}` };
}

/** Parses a presented key; undefined for anything that is not exactly the format. */
export function parseApiKey(presented: string): ParsedApiKey | undefined {
  if (typeof presented !== 'string' || presented.length > 96) return undefined;
  const match = KEY_FORMAT.exec(presented);
  if (!match) return undefined;
  return { env: match[1]!, id: match[2]!, secret: match[3]! };
}

/**
 * Where the id would be in a presented key, read by position without checking the rest: undefined when the
 * length cannot be a key's. Only for looking up a cached row; whatever is found still has to match the key.
 */
export function apiKeyIdAt(presented: string): string | undefined {
  const length = presented.length;
  if (length < KEY_LENGTH.min || length > KEY_LENGTH.max) return undefined;
  return presented.slice(length - ID_END - ID_LENGTH, length - ID_END);
}

export const API_KEY_ENV_PATTERN = /^[a-z0-9]{1,16}$/;
