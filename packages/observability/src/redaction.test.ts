import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../test/support.ts';
import { observability } from './fastify-plugin.ts';
import { DEFAULT_REDACT_PATHS } from './logger.ts';
import { startTracing, type Tracing } from './tracing.ts';

const CANARY = 'canary-9f2c41d7e3b8a6';
let tracing: Tracing;
beforeAll(async () => {
  tracing = await startTracing({ service: 'test-svc', exporter: 'memory' });
});
afterAll(async () => {
  await tracing.shutdown();
});

describe('a canary secret', () => {
  it('sent in headers, body and query appears zero times in logs and spans', async () => {
    const upstream = createServer((_request, response) => response.end('ok'));
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    const port = (upstream.address() as AddressInfo).port;

    // The service's own list: the shipped defaults plus one path of its own.
    const { app, metrics, logs } = buildApp({ redact: [...DEFAULT_REDACT_PATHS, 'body.profile.ssn'] });
    await app.register(observability, { metrics });
    app.post('/echo', async (request) => {
      request.log.info({ headers: request.headers, body: request.body, query: request.query }, 'handling');
      // Twice: the process's first outbound request installs the undici instrumentation, the second
      // gets a client span, whose url.full must lose the query.
      await (await fetch(`http://127.0.0.1:${port}/out?token=${CANARY}`)).text();
      await (await fetch(`http://127.0.0.1:${port}/out?token=${CANARY}`)).text();
      return { ok: true };
    });
    app.post('/fail', async (request) => {
      request.log.info({ req: request }, 'about to fail');
      throw Object.assign(new Error('downstream broke'), { code: 'DOWNSTREAM' });
    });
    app.post(
      '/strict',
      { schema: { body: { type: 'object', properties: { password: { type: 'integer' } } } } },
      async () => ({ ok: true }),
    );

    const request = {
      method: 'POST' as const,
      headers: {
        authorization: `Bearer ${CANARY}`,
        'x-api-key': CANARY,
        cookie: `session=${CANARY}`,
        'content-type': 'application/json',
      },
      payload: JSON.stringify({ password: CANARY, token: CANARY, profile: { ssn: CANARY }, note: 'hello' }),
    };
    expect(
      (await app.inject({ ...request, url: `/echo?token=${CANARY}&api_key=${CANARY}` })).statusCode,
    ).toBe(200);
    expect((await app.inject({ ...request, url: `/fail?token=${CANARY}` })).statusCode).toBe(500);
    expect((await app.inject({ ...request, url: `/strict?token=${CANARY}` })).statusCode).toBe(400);
    expect((await app.inject({ ...request, url: `/nowhere/${'x'}?token=${CANARY}` })).statusCode).toBe(404);
    await app.close();
    upstream.close();

    // The lines were written, with their non-secret fields intact.
    const handling = logs.lines.find((line) => line.msg === 'handling') as Record<
      string,
      Record<string, unknown>
    >;
    expect(handling.body?.note).toBe('hello');
    expect(handling.headers?.authorization).toBe('[REDACTED]');
    expect(logs.lines.filter((line) => line.msg === 'request completed')).toHaveLength(4);
    expect(logs.text().split(CANARY)).toHaveLength(1);

    const spans = tracing.memoryExporter?.getFinishedSpans() ?? [];
    expect(spans.length).toBeGreaterThanOrEqual(5);
    const emitted = JSON.stringify(
      spans.map((span) => ({
        name: span.name,
        attributes: span.attributes,
        events: span.events,
        links: span.links,
      })),
    );
    expect(emitted).toContain('/echo');
    expect(emitted).toContain('"url.query":"[REDACTED]"');
    expect(emitted.split(CANARY)).toHaveLength(1);
  });
});
