import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';

/** The service URL from the environment; unset prints the skip line, or throws when CI=true. */
export function serviceUrl(variable: 'TEST_REDIS_URL' | 'TEST_DATABASE_URL'): string | undefined {
  const url = process.env[variable];
  if (url) return url;
  const service = variable === 'TEST_REDIS_URL' ? 'Redis' : 'PostgreSQL';
  if (process.env.CI === 'true')
    throw new Error(`CI=true but ${variable} is unset: ${service} tests cannot run`);
  console.warn(`SKIPPED SERVICE: requires ${service} (${variable} unset)`);
  return undefined;
}

export interface TcpProxy {
  port: number;
  /** Destroys every open connection and refuses new ones (connection refused). */
  cut(): Promise<void>;
  /** Keeps connections open but forwards nothing until restored (a hung network: bytes wait, like TCP). */
  stall(): void;
  restore(): Promise<void>;
  close(): Promise<void>;
}

/** A TCP proxy on 127.0.0.1 in front of host:port, so a test can cut a service without touching it. */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let stalled = false;
  let port = 0;
  let server: Server;
  const listen = async () => {
    server = createServer((client) => {
      const upstream = connect(target.port, target.host);
      sockets.add(client).add(upstream);
      client.pipe(upstream);
      upstream.pipe(client);
      if (stalled) {
        client.pause();
        upstream.pause();
      }
      const end = () => {
        client.destroy();
        upstream.destroy();
        sockets.delete(client);
        sockets.delete(upstream);
      };
      client.on('close', end).on('error', end);
      upstream.on('close', end).on('error', end);
    });
    server.listen(port, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as { port: number }).port;
  };
  await listen();
  const stop = async () => {
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return {
    get port() {
      return port;
    },
    cut: stop,
    stall() {
      stalled = true;
      for (const socket of sockets) socket.pause();
    },
    async restore() {
      stalled = false;
      for (const socket of sockets) socket.resume();
      if (!server.listening) await listen();
    },
    close: stop,
  };
}
