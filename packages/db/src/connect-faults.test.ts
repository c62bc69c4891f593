import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { postgresUrl } from '../test/backends.ts';
import { createDb } from './create-db.ts';
import { isDbError } from './errors.ts';
import { connectError, connectionLost } from './pg-pool.ts';

const servers: Server[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(servers.splice(0).map((server) => new Promise((done) => server.close(done))));
});

async function listen(onConnection: (socket: Socket) => void): Promise<number> {
  const server = createServer((socket) => {
    sockets.push(socket);
    onConnection(socket);
  });
  servers.push(server);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('no address');
  return address.port;
}

async function freePort(): Promise<number> {
  const port = await listen(() => {});
  const server = servers.pop()!;
  await new Promise((done) => server.close(done));
  return port;
}

async function startupError(url: string, connectTimeoutMs = 1_000) {
  const started = Date.now();
  const error = await createDb({ url, connectTimeoutMs }).then(
    async (database) => {
      await database.close();
      throw new Error('connected unexpectedly');
    },
    (caught: unknown) => caught,
  );
  return { error: error as Error & { code?: string }, elapsedMs: Date.now() - started };
}

describe('start-up faults give a coded error within the connect timeout', () => {
  it.each([
    ['not a url', 'RAMPART_DB_URL_INVALID'],
    ['mysql://127.0.0.1/db', 'RAMPART_DB_URL_INVALID'],
    ['postgres://', 'RAMPART_DB_URL_INVALID'],
    ['postgres://127.0.0.1:99999/db', 'RAMPART_DB_URL_INVALID'],
  ])('malformed URL %j -> %s', async (url, code) => {
    const { error } = await startupError(url);
    expect(isDbError(error, code as 'RAMPART_DB_URL_INVALID')).toBe(true);
  });

  it('unreachable server (nothing listens) -> RAMPART_DB_UNREACHABLE', async () => {
    const port = await freePort();
    const { error, elapsedMs } = await startupError(`postgres://u:hunter2@127.0.0.1:${port}/db`);
    expect(error.code).toBe('RAMPART_DB_UNREACHABLE');
    expect(error.message).not.toContain('hunter2');
    expect(error.cause).toBeDefined();
    expect(elapsedMs).toBeLessThan(1_000 + 2_000);
  });

  it('a server that accepts and never answers -> RAMPART_DB_CONNECT_TIMEOUT, not a hang', async () => {
    const port = await listen(() => {});
    const { error, elapsedMs } = await startupError(`postgres://u:hunter2@127.0.0.1:${port}/db`, 300);
    expect(error.code).toBe('RAMPART_DB_CONNECT_TIMEOUT');
    expect(error.message).not.toContain('hunter2');
    expect(elapsedMs).toBeGreaterThanOrEqual(250);
    expect(elapsedMs).toBeLessThan(300 + 2_000);
  });

  it('a server that hangs up during start-up -> RAMPART_DB_UNREACHABLE', async () => {
    const port = await listen((socket) => socket.once('data', () => socket.destroy()));
    const { error } = await startupError(`postgres://u@127.0.0.1:${port}/db`);
    expect(error.code).toBe('RAMPART_DB_UNREACHABLE');
  });

  it.skipIf(postgresUrl === undefined)(
    'wrong credentials (unknown role) -> RAMPART_DB_AUTH_FAILED',
    async () => {
      const url = new URL(postgresUrl!);
      url.username = 'rampart_no_such_role';
      url.password = 'hunter2';
      const { error } = await startupError(url.toString(), 3_000);
      expect(error.code).toBe('RAMPART_DB_AUTH_FAILED');
      expect(error.message).not.toContain('hunter2');
    },
  );

  it.skipIf(postgresUrl === undefined)(
    'a missing database -> RAMPART_DB_OPEN_FAILED naming the code and what the server said',
    async () => {
      const url = new URL(postgresUrl!);
      url.pathname = '/rampart_no_such_database';
      const { error } = await startupError(url.toString(), 3_000);
      expect(error.code).toBe('RAMPART_DB_OPEN_FAILED');
      expect(error.message).toContain('(3D000: database "rampart_no_such_database" does not exist)');
    },
  );
});

describe('connectionLost', () => {
  // The driver's errors as it raises them when the server goes away under a statement: each is the database
  // being unreachable (503, retry later), not a bug (a 500). EPIPE and a closed client were once missed.
  it.each([
    [
      'a shutdown',
      Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
    ],
    ['a write to a closed connection', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' })],
    ['a reset', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })],
    ['a kernel timeout', Object.assign(new Error('read ETIMEDOUT'), { code: 'ETIMEDOUT' })],
    ['the socket closing', new Error('Connection terminated unexpectedly')],
    [
      'a client that saw its connection fail',
      new Error('Client has encountered a connection error and is not queryable'),
    ],
    ['a client the pool ended', new Error('Client was closed and is not queryable')],
  ])('%s is a lost connection', (_name, error) => {
    expect(connectionLost(error)).toBe(true);
  });

  it.each([
    ['a unique violation', Object.assign(new Error('duplicate key'), { code: '23505' })],
    ['a syntax error', Object.assign(new Error('syntax error'), { code: '42601' })],
    [
      'a statement timeout',
      Object.assign(new Error('canceling statement due to statement timeout'), { code: '57014' }),
    ],
  ])('%s is not', (_name, error) => {
    expect(connectionLost(error)).toBe(false);
  });
});

describe('connectError', () => {
  it("keeps the driver's words on one line in RAMPART_DB_OPEN_FAILED, never the URL's password", () => {
    const cause = new Error('the server said no to pa%ss and to pa%25ss\n  twice');
    const error = connectError(cause, 'postgres://app:pa%25ss@db.internal:5432/orders');
    expect(error.code).toBe('RAMPART_DB_OPEN_FAILED');
    expect(error.message).toBe(
      'the database could not be opened: postgres://app:***@db.internal:5432/orders (the server said no to *** and to *** twice)',
    );
    expect(error.cause).toBe(cause);
  });

  // Seen in the PostgreSQL outage test: requests during the restart answered RAMPART_DB_OPEN_FAILED, a
  // start-up failure's code, for what is a server not accepting connections yet.
  it.each([
    ['starting up', '57P03', 'the database system is starting up'],
    ['shutting down', '57P03', 'the database system is shutting down'],
    ['ending the connection', '57P01', 'terminating connection due to administrator command'],
  ])('a server %s -> RAMPART_DB_UNREACHABLE (retry later), with its words', (_name, code, words) => {
    const cause = Object.assign(new Error(words), { code });
    const error = connectError(cause, 'postgres://app:secret@db.internal:5432/orders');
    expect(error.code).toBe('RAMPART_DB_UNREACHABLE');
    expect(error.statusCode).toBe(503);
    expect(error.message).toContain(`(${code}: ${words})`);
    expect(error.message).not.toContain('secret');
    expect(error.cause).toBe(cause);
  });
});
