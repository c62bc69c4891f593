import { randomInt } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const KEY_FORMAT = /^rk_([a-z0-9]{1,16})_([A-Za-z0-9]{16})_([A-Za-z0-9]{43})$/;

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
  const id = base62(16);
  const secret = base62(43);
  return { env, id, secret, key: `rk_${env}_${id}_${secret}` };
}

/** Parses a presented key; undefined for anything that is not exactly the format. */
export function parseApiKey(presented: string): ParsedApiKey | undefined {
  if (typeof presented !== 'string' || presented.length > 96) return undefined;
  const match = KEY_FORMAT.exec(presented);
  if (!match) return undefined;
  return { env: match[1]!, id: match[2]!, secret: match[3]! };
}

export const API_KEY_ENV_PATTERN = /^[a-z0-9]{1,16}$/;
