import { connect, createServer, type Socket } from 'node:net';

/** A TCP proxy on 127.0.0.1 in front of a real server, which a test turns into an outage and back. */
export interface FaultProxy {
  /** The target URL with its host and port replaced by the proxy's (user, path and query kept). */
  url: string;
  port: number;
  /** A server that is down: destroys every open connection and resets new ones until `restore()`. */
  refuse(): void;
  /**
   * A server that stopped answering (hung, or a route dropped): every open connection stays open and
   * nothing more is forwarded either way. New connections still reach the server.
   */
  stall(): void;
  /** Accepts and forwards new connections again (stalled ones stay stalled). */
  restore(): void;
  /** Destroys every connection and stops listening. */
  close(): Promise<void>;
}

/**
 * Starts a proxy on 127.0.0.1 (port 0) in front of `target` (`postgres://...`, `redis://...`): connect the
 * code under test to `proxy.url`, then `refuse()` or `stall()` to test how it meets an outage, without
 * touching the real server. The default port of the scheme is used when the URL has none.
 *
 * @example
 * const proxy = await startFaultProxy(testDatabaseUrl()!);
 * const db = await createDb({ url: proxy.url });
 * proxy.refuse(); // ping() now fails with RAMPART_DB_PING_FAILED
 */
export async function startFaultProxy(target: string | URL): Promise<FaultProxy> {
  const parsed = new URL(target);
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = Number(parsed.port || DEFAULT_PORTS[parsed.protocol] || Number.NaN);
  if (!Number.isInteger(port) || port <= 0) {
    throw new TypeError(`startFaultProxy: ${parsed.protocol}// URL without a port: give one`);
  }
  const sockets = new Set<Socket>();
  let refusing = false;
  const server = createServer((client) => {
    if (refusing) return void client.destroy();
    const upstream = connect(port, host);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      // Either side failing ends both: the code under test sees a reset, as from a real outage.
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('startFaultProxy: no TCP port');
  const url = new URL(parsed);
  url.host = `127.0.0.1:${address.port}`;
  return {
    url: url.href,
    port: address.port,
    refuse() {
      refusing = true;
      for (const socket of sockets) socket.destroy();
    },
    stall() {
      for (const socket of sockets) {
        socket.unpipe();
        socket.pause();
      }
    },
    restore() {
      refusing = false;
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const DEFAULT_PORTS: Record<string, number> = { 'postgres:': 5432, 'postgresql:': 5432, 'redis:': 6379 };
