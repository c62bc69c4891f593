#!/usr/bin/env node
import { readFileSync } from 'node:fs';
// Child process behind local-registry.ts: a verdaccio with no uplinks on 127.0.0.1 and a free port.
// argv[2] is the JSON config path. Prints one JSON line `{"url": ...}` once listening. Exits on SIGTERM or
// SIGINT, and when its stdin closes, so it never outlives the process that started it.
import type { Server } from 'node:http';
import { runServer } from 'verdaccio';

const configPath = process.argv[2];
if (!configPath) {
  process.stderr.write('usage: registry-server.ts <config.json>\n');
  process.exit(2);
}
const config = JSON.parse(readFileSync(configPath, 'utf8'));
const server = (await runServer(config)) as Server;

let stopping = false;
function stop(): void {
  if (stopping) return;
  stopping = true;
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2_000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop).on('close', stop).resume();

server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}/` })}\n`);
});
