import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { postgresUrl } from '../test/backends.ts';
import { createDb } from './create-db.ts';

// Found by tooling/reliability: stopping PostgreSQL under write load killed the service, because a client
// checked out for a transaction had no 'error' listener when the server ended its connection.
describe.skipIf(postgresUrl === undefined)('a connection ended while checked out', () => {
  it('reaches onError instead of crashing the process, and the pool recovers', async () => {
    const errors: Array<Error & { code?: string }> = [];
    const database = await createDb({
      url: postgresUrl!,
      poolSize: 2,
      onError: (error) => errors.push(error),
    });
    const other = await createDb({ url: postgresUrl!, poolSize: 1 });
    let lastError: { cause?: { code?: string } } | undefined;
    try {
      const outcome = await database.db
        .transaction(async (tx) => {
          const result = await tx.execute<{ pid: number }>(sql`select pg_backend_pid() as pid`);
          await other.db.execute(sql`select pg_terminate_backend(${result.rows[0]!.pid})`);
          // The server's FATAL arrives while this transaction sits between statements.
          await new Promise((resolve) => setTimeout(resolve, 300));
          await tx.execute(sql`select 1`);
        })
        .then(
          () => 'committed',
          (error: { cause?: { code?: string } }) => {
            lastError = error;
            return 'rejected';
          },
        );
      expect(outcome).toBe('rejected');
      // The statement after the cut fails as the database going away (503; drizzle wraps it), not as a
      // statement error.
      expect(lastError?.cause?.code).toBe('RAMPART_DB_UNREACHABLE');
      expect(errors.map((error) => error.code)).toContain('57P01');
      const again = await database.db.execute<{ one: number }>(sql`select 1 as one`);
      expect(again.rows[0]?.one).toBe(1);
    } finally {
      await other.close();
      await database.close();
    }
  });
});
