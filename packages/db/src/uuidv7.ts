import { randomFillSync } from 'node:crypto';
import { uuid } from 'drizzle-orm/pg-core';

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));
const pool = new Uint8Array(16 * 256);
let poolOffset = pool.length;
let lastMs = 0;
let sequence = 0;

/**
 * A UUIDv7 (RFC 9562): 48-bit Unix milliseconds, then a 12-bit counter (method 1 of section 6.2) so ids made
 * in the same millisecond by this process still sort in creation order, then 62 random bits. Generated in
 * JavaScript because PostgreSQL 15 has no uuidv7() (PGlite's 18 does), and ids must not depend on which.
 */
export function uuidv7(now: number = Date.now()): string {
  if (poolOffset === pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const bytes = pool.subarray(poolOffset, poolOffset + 16);
  poolOffset += 16;

  let ms = now;
  if (ms > lastMs) {
    lastMs = ms;
    sequence = bytes[6]! & 0x07; // start low in the counter space so it rarely overflows
  } else {
    ms = lastMs; // clock went back or same millisecond: keep monotonic
    sequence += 1;
    if (sequence > 0xfff) {
      lastMs += 1;
      ms = lastMs;
      sequence = 0;
    }
  }
  bytes[0] = Math.floor(ms / 2 ** 40) & 0xff;
  bytes[1] = Math.floor(ms / 2 ** 32) & 0xff;
  bytes[2] = (ms >>> 24) & 0xff;
  bytes[3] = (ms >>> 16) & 0xff;
  bytes[4] = (ms >>> 8) & 0xff;
  bytes[5] = ms & 0xff;
  bytes[6] = 0x70 | ((sequence >>> 8) & 0x0f);
  bytes[7] = sequence & 0xff;
  bytes[8] = 0x80 | (bytes[8]! & 0x3f);
  let out = '';
  for (let i = 0; i < 16; i += 1) {
    out += HEX[bytes[i]!];
    if (i === 3 || i === 5 || i === 7 || i === 9) out += '-';
  }
  return out;
}

/** The Unix milliseconds a UUIDv7 was made at. */
export function uuidv7Time(id: string): number {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i.test(id)) {
    throw new TypeError(`not a UUIDv7: ${id}`);
  }
  return Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}

/**
 * The house primary key: a `uuid` column filled with {@link uuidv7} on insert.
 *
 * @example
 * export const items = pgTable('items', { id: uuidv7PrimaryKey(), name: text('name').notNull() });
 */
export function uuidv7PrimaryKey(name = 'id') {
  return uuid(name)
    .primaryKey()
    .$defaultFn(() => uuidv7());
}
