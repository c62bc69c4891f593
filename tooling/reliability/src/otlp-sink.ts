import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createTcpServer, type Socket, type Server as TcpServer } from 'node:net';

/**
 * A stand-in OpenTelemetry collector on 127.0.0.1: answers OTLP/HTTP exports with 200, and can be made
 * unreachable (closed: connections refused) or a black hole (connections accepted, never answered).
 */
export interface OtlpSink {
  readonly endpoint: string;
  readonly port: number;
  /** Export requests answered so far. */
  exports(): number;
  close(): Promise<void>;
  /** Accepts connections on the same port and never answers them. */
  blackHole(): Promise<void>;
  /** Answers again. */
  open(): Promise<void>;
  destroy(): Promise<void>;
}

function listen(server: Server | TcpServer, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}

export async function startOtlpSink(): Promise<OtlpSink> {
  let count = 0;
  let current: Server | TcpServer | undefined;
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  };
  const stop = async () => {
    const server = current;
    current = undefined;
    if (!server) return;
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  const answer = () => {
    const server = createHttpServer((request, response) => {
      request.resume();
      request.on('end', () => {
        count++;
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end('{}');
      });
    });
    server.on('connection', track);
    return server;
  };
  current = answer();
  const port = await listen(current, 0);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    exports: () => count,
    close: stop,
    async blackHole() {
      await stop();
      const server = createTcpServer((socket) => {
        track(socket);
        socket.on('error', () => undefined);
      });
      current = server;
      await listen(server, port);
    },
    async open() {
      await stop();
      current = answer();
      await listen(current, port);
    },
    destroy: stop,
  };
}
