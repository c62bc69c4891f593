import { createHash } from 'node:crypto';

/**
 * The job id an idempotency key maps to: a name-based UUID (version 8, SHA-256 of task and key). pg-boss
 * inserts with `ON CONFLICT DO NOTHING` on the job's primary key, so a second enqueue with the same key
 * is a no-op for as long as the first job's row is kept.
 */
export function jobIdForKey(task: string, key: string): string {
  const hash = createHash('sha256').update(task).update('\u0000').update(key).digest();
  hash[6] = (hash[6]! & 0x0f) | 0x80; // version 8
  hash[8] = (hash[8]! & 0x3f) | 0x80; // RFC 9562 variant
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
