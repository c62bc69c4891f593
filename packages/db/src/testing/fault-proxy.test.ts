import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type FaultProxy, startFaultProxy } from './fault-proxy.ts';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A real TCP echo server on 127.0.0.1: what the proxy stands in front of. */
async function echoServer(): Promise<number> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.pipe(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => {
    for (const socket of sockets) socket.destroy();
    return new Promise((resolve) => server.close(resolve));
  });
  return (server.address() as { port: number }).port;
}

async function proxyToEcho(): Promise<FaultProxy> {
  const port = await echoServer();
  const proxy = await startFaultProxy(`redis://user:pw@127.0.0.1:${port}/3?x=1`);
  cleanups.push(() => proxy.close());
  return proxy;
}

function client(port: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => {});
  cleanups.push(() => socket.destroy());
  return once(socket, 'connect').then(() => socket);
}

/** What comes back within `ms`: the echo, or '' when nothing does. */
async function roundTrip(socket: Socket, text: string, ms = 300): Promise<string> {
  let received = '';
  const onData = (chunk: Buffer) => {
    received += chunk.toString();
  };
  socket.on('data', onData);
  socket.write(text);
  const deadline = Date.now() + ms;
  while (received.length < text.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  socket.off('data', onData);
  return received;
}

describe('startFaultProxy', () => {
  it('forwards both ways and keeps everything of the URL but its host and port', async () => {
    const proxy = await proxyToEcho();
    expect(proxy.url).toBe(`redis://user:pw@127.0.0.1:${proxy.port}/3?x=1`);
    expect(await roundTrip(await client(proxy.port), 'ping')).toBe('ping');
  });

  it('refuse() resets open and new connections until restore()', async () => {
    const proxy = await proxyToEcho();
    const open = await client(proxy.port);
    const closed = once(open, 'close');
    proxy.refuse();
    await closed;
    const refused = connect(proxy.port, '127.0.0.1');
    refused.on('error', () => {});
    await once(refused, 'close');
    proxy.restore();
    expect(await roundTrip(await client(proxy.port), 'back')).toBe('back');
  });

  it('stall() keeps open connections open and silent; new ones still go through', async () => {
    const proxy = await proxyToEcho();
    const stalled = await client(proxy.port);
    expect(await roundTrip(stalled, 'a')).toBe('a');
    proxy.stall();
    expect(await roundTrip(stalled, 'b')).toBe('');
    expect(stalled.destroyed).toBe(false);
    expect(await roundTrip(await client(proxy.port), 'c')).toBe('c');
  });

  it('takes the scheme default port and refuses a URL it cannot place', async () => {
    const proxy = await startFaultProxy('postgres://postgres@127.0.0.1/test');
    cleanups.push(() => proxy.close());
    expect(proxy.url).toBe(`postgres://postgres@127.0.0.1:${proxy.port}/test`);
    await expect(startFaultProxy('http2://127.0.0.1/x')).rejects.toThrow(/without a port/);
  });
});
