import { once } from 'node:events';
import { connect } from 'node:net';
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { clientGone } from './client-gone.ts';

const apps: Array<{ close(): Promise<unknown> }> = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

describe('clientGone', () => {
  it('stays open through a POST with a body, where request.signal has already fired', async () => {
    const app = Fastify();
    apps.push(app);
    app.post('/work', async (request, reply) => {
      const signal = clientGone(reply);
      await new Promise((resolve) => setTimeout(resolve, 100));
      return { ours: signal.aborted, fastify: request.signal.aborted };
    });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    const response = await fetch(`${url}/work`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ some: 'body' }),
    });
    expect(((await response.json()) as { ours: boolean }).ours).toBe(false);
  });

  it('aborts when the client closes the connection before the answer', async () => {
    const app = Fastify();
    apps.push(app);
    let reached!: () => void;
    const inHandler = new Promise<void>((resolve) => {
      reached = resolve;
    });
    let aborted: Promise<unknown> | undefined;
    app.post('/slow', async (_request, reply) => {
      const signal = clientGone(reply);
      aborted = once(signal, 'abort');
      reached();
      await aborted;
      return { never: 'sent' };
    });
    const url = new URL(await app.listen({ host: '127.0.0.1', port: 0 }));
    const socket = connect(Number(url.port), '127.0.0.1');
    await once(socket, 'connect');
    const body = '{"a":1}';
    socket.write(
      `POST /slow HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
    );
    await inHandler;
    socket.destroy();
    await expect(aborted).resolves.toBeDefined();
  });

  it('is already aborted when called after the client hung up', async () => {
    const app = Fastify();
    apps.push(app);
    let reached!: () => void;
    const inHandler = new Promise<void>((resolve) => {
      reached = resolve;
    });
    let late: Promise<boolean> | undefined;
    app.get('/late', async (_request, reply) => {
      reached();
      // The handler awaits something (a query) while the client hangs up, then makes its outbound call.
      late = once(reply.raw, 'close').then(() => clientGone(reply).aborted);
      await late;
      return { never: 'sent' };
    });
    const url = new URL(await app.listen({ host: '127.0.0.1', port: 0 }));
    const socket = connect(Number(url.port), '127.0.0.1');
    await once(socket, 'connect');
    socket.write('GET /late HTTP/1.1\r\nhost: x\r\n\r\n');
    await inHandler;
    socket.destroy();
    expect(await late).toBe(true);
  });
});
