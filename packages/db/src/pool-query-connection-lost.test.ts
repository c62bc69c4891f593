import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { postgresUrl } from '../test/backends.ts';
import { createDb } from './create-db.ts';
import { startFaultProxy } from './testing/fault-proxy.ts';

/** Every `code` along an error's cause chain (drizzle wraps a failed statement in its own error). */
function codes(error: unknown): unknown[] {
  const found: unknown[] = [];
  for (let current = error; typeof current === 'object' && current !== null; ) {
    found.push((current as { code?: unknown }).code);
    current = (current as { cause?: unknown }).cause;
  }
  return found;
}

// Seen in a CI run of the PostgreSQL outage test: one request of about 1,500 answered 500 with node-postgres'
// "Connection terminated unexpectedly". pool.query() passes on its client's 'error' event when it comes
// before the statement's own answer, and a connection cut without the server's goodbye emits it first.
describe.skipIf(postgresUrl === undefined)('a statement whose connection is cut under it', () => {
  it("fails as RAMPART_DB_UNREACHABLE through pool.query too, not as the driver's error", async () => {
    const proxy = await startFaultProxy(postgresUrl!);
    const database = await createDb({ url: proxy.url, poolSize: 2, connectTimeoutMs: 2_000 });
    const watcher = await createDb({ url: postgresUrl!, poolSize: 1 });
    try {
      const tag = `cut-${process.pid}-${Date.now()}`;
      // db.execute on a pool runs through pool.query.
      const pending = database.db.execute(sql`select pg_sleep(20) as slept -- ${sql.raw(tag)}`).then(
        () => undefined,
        (error: unknown) => error,
      );
      // Cut only once the server is running the statement, so the failure is the cut, not the connect.
      for (let tries = 0; ; tries += 1) {
        const active = await watcher.db.execute<{ n: number }>(
          sql`select count(*)::int as n from pg_stat_activity where state = 'active' and query like ${`%${tag}%`} and pid <> pg_backend_pid()`,
        );
        if ((active.rows[0]?.n ?? 0) > 0) break;
        if (tries > 200) throw new Error('the statement never became active');
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      proxy.refuse();
      const error = await pending;
      expect(codes(error)).toContain('RAMPART_DB_UNREACHABLE');
      expect(error).toMatchObject({ cause: { statusCode: 503 } });
    } finally {
      proxy.restore();
      await database.close();
      await watcher.db.execute(
        sql`select pg_cancel_backend(pid) from pg_stat_activity where query like '%pg_sleep(20)%' and pid <> pg_backend_pid()`,
      );
      await watcher.close();
      await proxy.close();
    }
  });
});
