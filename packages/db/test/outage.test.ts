import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { createDb } from '../src/create-db.ts';
import { startFaultProxy } from '../src/testing/fault-proxy.ts';
import { postgresUrl } from './backends.ts';

describe.skipIf(postgresUrl === undefined)('PostgreSQL outage', () => {
  it('ping fails with a coded error while the server is cut off and recovers after', async () => {
    const proxy = await startFaultProxy(postgresUrl!);
    const errors: Error[] = [];
    const database = await createDb({
      url: proxy.url,
      poolSize: 2,
      connectTimeoutMs: 500,
      onError: (error) => errors.push(error),
    });
    try {
      await database.ping({ timeoutMs: 2_000 });
      proxy.refuse();
      const error = await database.ping({ timeoutMs: 3_000 }).catch((caught: unknown) => caught);
      expect(['RAMPART_DB_PING_FAILED', 'RAMPART_DB_PING_TIMEOUT']).toContain(
        (error as { code?: string }).code,
      );
      proxy.restore();
      // The pool drops the broken connections and opens new ones: readiness comes back on its own.
      let recovered = false;
      for (let attempt = 0; attempt < 20 && !recovered; attempt += 1) {
        recovered = await database.ping({ timeoutMs: 2_000 }).then(
          () => true,
          () => false,
        );
        if (!recovered) await new Promise((done) => setTimeout(done, 100));
      }
      expect(recovered).toBe(true);
    } finally {
      await database.close();
      await proxy.close();
    }
  });
});

// Found by tooling/reliability: while PostgreSQL was down, every request answered 500 RAMPART_SECURITY_INTERNAL,
// because the pool's connect failure reached the app as the driver's ECONNREFUSED.
describe.skipIf(postgresUrl === undefined)('a connection the pool cannot open', () => {
  it('fails queries and transactions with RAMPART_DB_UNREACHABLE (503), and they work again after', async () => {
    const proxy = await startFaultProxy(postgresUrl!);
    const database = await createDb({ url: proxy.url, poolSize: 2, connectTimeoutMs: 500 });
    try {
      proxy.refuse();
      // The pool drops its idle connection when the cut reaches it; what follows has to connect anew.
      await new Promise((done) => setTimeout(done, 200));
      const query = await database.db.execute(sql`select 1`).catch((caught: unknown) => caught);
      // drizzle wraps a failed statement; the coded error is its cause.
      const cause = (query as { cause?: { code?: string; statusCode?: number } }).cause;
      expect(cause?.code).toBe('RAMPART_DB_UNREACHABLE');
      expect(cause?.statusCode).toBe(503);
      const transaction = await database.db
        .transaction(async (tx) => tx.execute(sql`select 1`))
        .catch((caught: unknown) => caught);
      expect((transaction as { code?: string }).code).toBe('RAMPART_DB_UNREACHABLE');
      proxy.restore();
      const again = await database.db.execute<{ one: number }>(sql`select 1 as one`);
      expect(again.rows[0]?.one).toBe(1);
    } finally {
      await database.close();
      await proxy.close();
    }
  });
});

/** A hang guard, not a timing assertion: without one a regression here would hang the run. */
function within<T>(promise: Promise<T>, what: string, ms = 20_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} still pending after ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

// Found by the failure-mode audit: statement_timeout is enforced by the server, so a connection that stopped
// answering (a dropped route) left its statement, and then close(), waiting for ever.
describe.skipIf(postgresUrl === undefined)('a connection that stops answering', () => {
  it('fails its statement with RAMPART_DB_UNREACHABLE after statement + connect timeout, and close() returns', async () => {
    const proxy = await startFaultProxy(postgresUrl!);
    const errors: Error[] = [];
    const database = await createDb({
      url: proxy.url,
      poolSize: 2,
      statementTimeoutMs: 300,
      connectTimeoutMs: 500,
      onError: (error) => errors.push(error),
    });
    try {
      await database.db.execute(sql`select 1`);
      const statements = [
        () => {
          proxy.stall();
          return database.db.execute(sql`select 1`);
        },
        // Stalled between two statements of a transaction, on the fresh connection it checked out.
        () =>
          database.db.transaction(async (tx) => {
            await tx.execute(sql`select 1`);
            proxy.stall();
            return tx.execute(sql`select 1`);
          }),
      ];
      for (const statement of statements) {
        const error = await within(
          statement().then(
            () => 'answered',
            (caught: unknown) => caught,
          ),
          'a statement on a stalled connection',
        );
        // drizzle wraps the failed statement; the coded error is its cause.
        expect(error).toMatchObject({ cause: { code: 'RAMPART_DB_UNREACHABLE' } });
        // (A transaction reports its failed rollback on the dropped connection: "connection lost".)
        expect((error as { cause: Error }).cause.message).toMatch(/no answer within 800 ms|connection lost/);
      }
      expect(errors.length).toBeGreaterThan(0);
      // The dead connections were dropped: new ones answer.
      const again = await database.db.execute<{ one: number }>(sql`select 1 as one`);
      expect(again.rows[0]?.one).toBe(1);
    } finally {
      await within(database.close(), 'close()').finally(() => proxy.close());
    }
  });
});

// Seen in a CI run of the PostgreSQL outage test: one request of about 1,500 answered 500 with node-postgres'
// "Connection terminated unexpectedly". pool.query() passes on its client's 'error' event when it comes
// before the statement's own answer, and a connection cut without the server's goodbye emits it first.
describe.skipIf(postgresUrl === undefined)('a statement whose connection is cut under it', () => {
  it("fails as RAMPART_DB_UNREACHABLE through pool.query too, not as the driver's error", async () => {
    const proxy = await startFaultProxy(postgresUrl!);
    const database = await createDb({ url: proxy.url, poolSize: 2, connectTimeoutMs: 2_000 });
    const watcher = await createDb({ url: postgresUrl!, poolSize: 1 });
    const tag = `cut-${process.pid}-${Date.now()}`;
    try {
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
      // drizzle wraps the failed statement; its cause is ours, not node-postgres' error.
      expect(error).toMatchObject({ cause: { code: 'RAMPART_DB_UNREACHABLE', statusCode: 503 } });
    } finally {
      proxy.restore();
      await database.close();
      await watcher.db.execute(
        sql`select pg_cancel_backend(pid) from pg_stat_activity where query like ${`%${tag}%`} and pid <> pg_backend_pid()`,
      );
      await watcher.close();
      await proxy.close();
    }
  });
});
