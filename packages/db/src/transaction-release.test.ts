import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { postgresUrl } from '../test/backends.ts';
import { createDb } from './create-db.ts';
import { startFaultProxy } from './testing/fault-proxy.ts';

/** A hang guard, not a timing assertion: a leaked client made close() wait for ever. */
async function closeWithin(close: () => Promise<void>, ms = 15_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`close() still pending after ${ms} ms`)), ms);
  });
  try {
    await Promise.race([close(), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

// Found by the failure-mode audit: drizzle sends a transaction's `begin` outside its try/finally, so a begin
// that failed never gave its client back to the pool. poolSize failures later every query waited out the
// connect timeout and close() never returned.
describe.skipIf(postgresUrl === undefined)('a transaction whose begin fails', () => {
  it('gives its connection back: a refused transaction mode', async () => {
    const database = await createDb({ url: postgresUrl!, poolSize: 1, connectTimeoutMs: 2_000 });
    try {
      for (let attempt = 0; attempt < 3; attempt += 1) {
        const error = await database.db
          .transaction(async () => 'never', { isolationLevel: 'bogus' as 'serializable' })
          .catch((caught: unknown) => caught as { cause?: { code?: string } });
        // The server's syntax error each time, never the pool's connect timeout.
        expect(error).toMatchObject({ cause: { code: '42601' } });
      }
      const result = await database.db.execute<{ one: number }>(sql`select 1 as one`);
      expect(result.rows[0]?.one).toBe(1);
    } finally {
      await closeWithin(database.close);
    }
  });

  it('gives its connection back: the connection was lost while idle', async () => {
    const proxy = await startFaultProxy(postgresUrl!);
    const database = await createDb({
      url: proxy.url,
      poolSize: 1,
      connectTimeoutMs: 2_000,
      onError: () => {},
    });
    try {
      await database.db.execute(sql`select 1`);
      // The idle connection is cut; the pool hands it out before its socket has noticed.
      proxy.refuse();
      const error = await database.db
        .transaction(async (tx) => tx.execute(sql`select 1`))
        .catch((caught: unknown) => caught as { cause?: { code?: string } });
      expect(error).toMatchObject({ cause: { code: 'RAMPART_DB_UNREACHABLE' } });
      proxy.restore();
      const pool = (database.db as unknown as { $client: { totalCount: number } }).$client;
      expect(pool.totalCount).toBe(0);
      const result = await database.db.execute<{ one: number }>(sql`select 1 as one`);
      expect(result.rows[0]?.one).toBe(1);
    } finally {
      await closeWithin(database.close).finally(() => proxy.close());
    }
  });
});
