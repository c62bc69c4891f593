import { createServer, type Server, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { createHealth, pgCheck, redisCheck } from '../src/index.ts';

// A database that accepts connections and never answers (a black-holed route, a hung server): the real pg and
// ioredis clients wait forever, and neither can cancel a query or a PING from a signal.
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function blackHole(): Promise<{ port: number; received: () => string }> {
  const sockets = new Set<Socket>();
  let received = '';
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
    });
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  return { port: (server.address() as { port: number }).port, received: () => received };
}

describe('readiness checks against a database that never answers', () => {
  it('pgCheck keeps one query in flight, however many probes time out', async () => {
    const { port } = await blackHole();
    // No connectionTimeoutMillis: a pool waiter would wait forever.
    const pool = new pg.Pool({ host: '127.0.0.1', port, user: 'u', database: 'd', max: 2 });
    pool.on('error', () => {}); // the black hole's sockets are destroyed at cleanup
    // Ended after the black hole closed (cleanups run in reverse): until then its connection is still pending.
    cleanups.unshift(() => pool.end().catch(() => {}));
    const health = createHealth({ version: '1', commit: 'c', checks: [pgCheck('db', pool, 30)] });
    for (let i = 0; i < 5; i++) {
      const report = await health.ready();
      expect(report.body.checks.db).toMatchObject({ code: 'RAMPART_RESILIENCE_CHECK_TIMEOUT' });
    }
    // Every probe used to add a connection and then a waiter, queued ahead of the application's own queries.
    expect({ total: pool.totalCount, waiting: pool.waitingCount }).toEqual({ total: 1, waiting: 0 });
  });

  it('redisCheck keeps one PING in flight, however many probes time out', async () => {
    const { port, received } = await blackHole();
    // No handshake to wait for (HELLO, CLIENT SETINFO, INFO): the client is ready on connect and writes each
    // PING to the black hole, where it can be counted.
    const redis = new Redis({
      host: '127.0.0.1',
      port,
      protocol: 2,
      disableClientInfo: true,
      enableReadyCheck: false,
      retryStrategy: () => null,
    });
    redis.on('error', () => {});
    cleanups.push(() => redis.disconnect());
    const health = createHealth({ version: '1', commit: 'c', checks: [redisCheck('redis', redis, 30)] });
    for (let i = 0; i < 5; i++) {
      const report = await health.ready();
      expect(report.body.checks.redis).toMatchObject({ code: 'RAMPART_RESILIENCE_CHECK_TIMEOUT' });
    }
    // Give anything still queued time to reach the wire.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(received().match(/\bping\b/gi) ?? []).toHaveLength(1);
  });
});
