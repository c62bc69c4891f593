import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** An OTLP/HTTP endpoint standing in for a collector: it reads each export and answers 200. */
export async function startOtlpSink(): Promise<{
  url: string;
  exports: () => number;
  close: () => Promise<void>;
}> {
  let exported = 0;
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      exported += 1;
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    exports: () => exported,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
