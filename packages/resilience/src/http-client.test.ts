import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpClient, type HttpClient } from './http-client.ts';
import { createPolicy, type PolicyOptions } from './policy.ts';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  aborted: boolean;
}

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A real upstream on 127.0.0.1 whose answers the test scripts, recording what it saw. */
async function upstream(handler: (req: IncomingMessage, res: ServerResponse, n: number) => void) {
  const seen: Seen[] = [];
  const server: Server = createServer((req, res) => {
    const entry: Seen = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      aborted: false,
    };
    seen.push(entry);
    res.on('close', () => {
      if (!res.writableFinished) entry.aborted = true;
    });
    handler(req, res, seen.length);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(resolve);
      }),
  );
  const { port } = server.address() as { port: number };
  return { seen, url: `http://127.0.0.1:${port}` };
}

function client(
  url: string,
  policy: Partial<PolicyOptions> = {},
  extra: Partial<Parameters<typeof createHttpClient>[0]> = {},
): HttpClient {
  const http = createHttpClient({
    baseUrl: `${url}/api`,
    policy: createPolicy({ name: 'upstream', retry: { baseDelayMs: 1, maxDelayMs: 5 }, ...policy }),
    ...extra,
  });
  cleanups.push(() => http.close());
  return http;
}

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};

async function failure(promise: Promise<unknown>): Promise<Record<string, unknown>> {
  try {
    await promise;
  } catch (error) {
    return error as Record<string, unknown>;
  }
  throw new Error('expected a failure');
}

describe('createHttpClient', () => {
  it('sends the request with trace headers from propagate() and the attempt deadline', async () => {
    const { seen, url } = await upstream((_req, res) => json(res, 200, { id: 42 }));
    const http = client(
      url,
      { attemptTimeoutMs: 1_000 },
      {
        propagate: (headers) => {
          headers.traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
        },
      },
    );
    const response = await http.request({ path: '/items/42?full=1', deadlineMs: 5_000 });
    expect(response.status).toBe(200);
    expect(response.json()).toEqual({ id: 42 });
    expect(seen[0]?.url).toBe('/api/items/42?full=1');
    expect(seen[0]?.headers.traceparent).toBe('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    const left = Number(seen[0]?.headers['x-request-deadline-ms']);
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThanOrEqual(1_000);
  });

  it('uses the global OpenTelemetry propagator when one is registered and no propagate() is given', async () => {
    const key = Symbol.for('opentelemetry.js.api.1');
    const registry = globalThis as Record<symbol, unknown>;
    const previous = registry[key];
    registry[key] = {
      version: '1.10.0',
      context: { active: () => ({ span: 'active' }) },
      propagation: {
        inject: (
          context: { span: string },
          carrier: Record<string, string>,
          setter: { set: (c: Record<string, string>, k: string, v: string) => void },
        ) => setter.set(carrier, 'traceparent', `from-${context.span}`),
      },
    };
    cleanups.push(() => {
      registry[key] = previous;
    });
    const { seen, url } = await upstream((_req, res) => json(res, 200, {}));
    await client(url).request({ path: '/' });
    expect(seen[0]?.headers.traceparent).toBe('from-active');
  });

  it('honours Retry-After on 503 and then succeeds', async () => {
    const { seen, url } = await upstream((_req, res, n) =>
      n === 1 ? json(res, 503, { busy: true }, { 'retry-after': '1' }) : json(res, 200, { ok: true }),
    );
    const started = Date.now();
    const response = await client(url, { attemptTimeoutMs: 5_000 }).request({ path: '/slow' });
    expect(response.json()).toEqual({ ok: true });
    expect(seen).toHaveLength(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  });

  it('fails at once with the upstream status when Retry-After is longer than it will wait', async () => {
    const { seen, url } = await upstream((_req, res) => json(res, 429, {}, { 'retry-after': '120' }));
    const error = await failure(client(url).request({ path: '/' }));
    expect(error).toMatchObject({
      code: 'RAMPART_RESILIENCE_UPSTREAM_STATUS',
      statusCode: 502,
      upstreamStatus: 429,
    });
    expect(seen).toHaveLength(1);
  });

  it('retries a POST only when it carries an Idempotency-Key', async () => {
    const { seen, url } = await upstream((_req, res, n) => (n < 3 ? json(res, 503, {}) : json(res, 201, {})));
    const http = client(url);
    const plain = await failure(http.request({ method: 'POST', path: '/orders', body: { sku: 'a' } }));
    expect(plain).toMatchObject({ code: 'RAMPART_RESILIENCE_UPSTREAM_STATUS', upstreamStatus: 503 });
    expect(seen).toHaveLength(1);
    expect(seen[0]?.headers['content-type']).toBe('application/json');
    const keyed = await http.request({
      method: 'POST',
      path: '/orders',
      body: { sku: 'a' },
      headers: { 'Idempotency-Key': 'k1' },
    });
    expect(keyed.status).toBe(201);
    expect(seen).toHaveLength(3);
  });

  it('returns client errors as responses without retrying', async () => {
    const { seen, url } = await upstream((_req, res) => json(res, 404, { missing: true }));
    const response = await client(url).request({ path: '/nope' });
    expect(response.status).toBe(404);
    expect(seen).toHaveLength(1);
  });

  it('caps the response body, whether the length is declared or chunked', async () => {
    const big = Buffer.alloc(64 * 1024, 'x');
    const { url } = await upstream((req, res) => {
      if (req.url?.endsWith('/declared')) {
        res.writeHead(200, { 'content-length': String(big.length) });
        res.end(big);
      } else {
        res.writeHead(200);
        for (let i = 0; i < 8; i++) res.write(big.subarray(0, 8 * 1024));
        res.end();
      }
    });
    const http = client(url, {}, { maxBodyBytes: 16 * 1024 });
    expect(await failure(http.request({ path: '/declared' }))).toMatchObject({
      code: 'RAMPART_RESILIENCE_BODY_TOO_LARGE',
    });
    expect(await failure(http.request({ path: '/chunked' }))).toMatchObject({
      code: 'RAMPART_RESILIENCE_BODY_TOO_LARGE',
    });
  });

  it('aborts a timed-out attempt on the wire and retries with a fresh request', async () => {
    const { seen, url } = await upstream((_req, res, n) => {
      if (n === 1) return; // hangs until the client gives up on it
      json(res, 200, { attempt: n });
    });
    const response = await client(url, { attemptTimeoutMs: 100 }).request({ path: '/' });
    expect(response.json()).toEqual({ attempt: 2 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(seen.map((entry) => entry.aborted)).toEqual([true, false]);
  });

  it('stops at the deadline and aborts the request in flight', async () => {
    const { seen, url } = await upstream(() => {});
    const error = await failure(
      client(url, { attemptTimeoutMs: 5_000 }).request({ path: '/', deadlineMs: 150 }),
    );
    expect(error).toMatchObject({ code: 'RAMPART_RESILIENCE_DEADLINE_EXCEEDED', statusCode: 504 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(seen).toHaveLength(1);
    expect(seen[0]?.aborted).toBe(true);
  });

  it('reports an unreachable upstream with a coded error after its retries', async () => {
    const { url } = await upstream(() => {});
    await cleanups.pop()?.(); // close the upstream: its port now refuses connections
    const error = await failure(client(url).request({ path: '/' }));
    expect(error).toMatchObject({ code: 'RAMPART_RESILIENCE_UPSTREAM_UNREACHABLE', statusCode: 502 });
    expect((error.cause as { code?: string }).code).toBe('ECONNREFUSED');
  });

  it.each([
    [{ baseUrl: 'not a url' }],
    [{ baseUrl: 'ftp://x' }],
    [{ baseUrl: 'http://x', maxBodyBytes: 0 }],
    [{ baseUrl: 'http://x', policy: undefined }],
  ])('rejects invalid options %j', (options) => {
    expect(() => createHttpClient({ policy: createPolicy({ name: 'x' }), ...options } as never)).toThrow(
      expect.objectContaining({ code: 'RAMPART_RESILIENCE_INVALID_OPTIONS' }),
    );
  });
});
