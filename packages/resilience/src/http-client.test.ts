import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpClient, type HttpClient } from './http-client.ts';
import type { PolicyEvent } from './observer.ts';
import { createPolicy, type PolicyOptions } from './policy.ts';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  /** Every header line as sent, to catch one sent twice under two spellings. */
  rawHeaders: string[];
  body: Promise<string>;
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
    const chunks: Buffer[] = [];
    const entry: Seen = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      body: new Promise((resolve) => {
        req.on('data', (chunk: Buffer) => chunks.push(chunk));
        req.on('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
        req.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
      }),
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

  it.each([
    ['no options at all', undefined],
    ['retryStatuses not an array', { retryStatuses: 503 }],
    ['retryStatuses as strings', { retryStatuses: ['503'] }],
    ['retryStatuses out of range', { retryStatuses: [99] }],
    ['deadlineHeader not a header name', { deadlineHeader: 'x deadline' }],
    ['maxRetryAfterMs above 2^31-1 ms', { maxRetryAfterMs: 2 ** 31 }],
    ['a default header with CR/LF', { headers: { 'x-tenant': 'acme\r\nx-admin: 1' } }],
    ['a default header that is not a string', { headers: { 'x-retries': 3 } }],
    ['propagate not a function', { propagate: 'w3c' }],
    ['baseUrl with a query string', { baseUrl: 'http://x/api?key=1' }],
  ])('rejects %s at create time with a named error', (_label, options) => {
    const built = () =>
      createHttpClient(
        options === undefined
          ? (undefined as never)
          : ({ baseUrl: 'http://127.0.0.1:9', policy: createPolicy({ name: 'x' }), ...options } as never),
      );
    expect(built).toThrow(expect.objectContaining({ code: 'RAMPART_RESILIENCE_INVALID_OPTIONS' }));
  });

  it('refuses caller mistakes at once: never sent, never retried, never counted against the breaker', async () => {
    const events: PolicyEvent['kind'][] = [];
    const { seen, url } = await upstream((_req, res) => json(res, 200, { ok: true }));
    const http = client(url, {
      breaker: { consecutiveFailures: 1 },
      observer: { onEvent: (event) => events.push(event.kind) },
    });
    const mistakes = [
      { path: '/users', headers: { 'x-display-name': 'Mallory\r\nx-admin: true' } },
      { path: '/users', headers: { 'x display name': 'x' } },
      { path: '/users', headers: { 'content-length': '5' } },
      { path: '/users', headers: { 'x-count': 3 as unknown as string } },
      { path: '/users', headers: new Headers({ authorization: 'Bearer x' }) as never },
      { path: '/users', method: 'GE T' },
      { path: '/users', method: 'POST', body: { id: 10n } },
      { path: '/users', method: 'POST', body: { self: {} as Record<string, unknown> } },
      { path: '/users', deadlineMs: Number.NaN },
      { path: '/users', signal: 'soon' as never },
      { path: 42 as unknown as string },
    ];
    const cyclic = mistakes[7]?.body as { self: Record<string, unknown> };
    cyclic.self.self = cyclic;
    for (const mistake of mistakes) {
      const error = await failure(http.request(mistake as never));
      expect(error).toMatchObject({
        code: 'RAMPART_RESILIENCE_REQUEST_INVALID',
        statusCode: 500,
        retryable: false,
      });
      // Says what is wrong without echoing the value (a user's name in a header, a token).
      expect(String(error.message)).not.toContain('Mallory');
    }
    expect(seen).toHaveLength(0);
    expect(events).toEqual([]);
    expect((await http.request({ path: '/users' })).status).toBe(200);
  });

  it('answers a request after close() with a named error, not as an unreachable upstream', async () => {
    const events: PolicyEvent['kind'][] = [];
    const { seen, url } = await upstream((_req, res) => json(res, 200, {}));
    const policy = createPolicy({
      name: 'upstream',
      breaker: { consecutiveFailures: 1 },
      observer: { onEvent: (e) => events.push(e.kind) },
    });
    const http = createHttpClient({ baseUrl: url, policy });
    await http.request({ path: '/' });
    await http.close();
    const error = await failure(http.request({ path: '/' }));
    expect(error).toMatchObject({ code: 'RAMPART_RESILIENCE_CLIENT_CLOSED', statusCode: 500 });
    expect(events.filter((kind) => kind === 'retry')).toEqual([]);
    expect(policy.breakerState).toBe('closed');
    expect(seen).toHaveLength(1);
  });

  it('reports an upstream that dies mid-body as unreachable (502), retried like a reset', async () => {
    const { seen, url } = await upstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
      res.write('{"partial":');
      setTimeout(() => res.socket?.destroy(), 10);
    });
    const error = await failure(client(url).request({ path: '/orders/1' }));
    expect(error).toMatchObject({ code: 'RAMPART_RESILIENCE_UPSTREAM_UNREACHABLE', statusCode: 502 });
    expect((error.cause as { code?: string }).code).toBe('UND_ERR_SOCKET');
    expect(seen).toHaveLength(3);

    // Through a route, the service answers 502, not a 500 carrying undici's message.
    const app = Fastify();
    cleanups.push(() => app.close());
    const http = client(url, { retry: false });
    app.get('/proxy', async () => (await http.request({ path: '/orders/1' })).json());
    const answer = await app.inject('/proxy');
    expect(answer.statusCode).toBe(502);
    expect(answer.json()).toMatchObject({ code: 'RAMPART_RESILIENCE_UPSTREAM_UNREACHABLE' });
  });

  it('splits the path from its query at the first "?" only', async () => {
    const { seen, url } = await upstream((_req, res) => json(res, 200, {}));
    const http = client(url);
    await http.request({ path: '/search?q=what?&page=2' });
    await http.request({ path: '/login?next=/a?b=c' });
    await http.request({ path: '/plain?' });
    expect(seen.map((entry) => entry.url)).toEqual([
      '/api/search?q=what?&page=2',
      '/api/login?next=/a?b=c',
      '/api/plain',
    ]);
  });

  it('sends forms, bytes and JSON each with its content type, and a caller content type in any case instead of the default', async () => {
    const { seen, url } = await upstream((_req, res) => json(res, 200, {}));
    const http = client(url);
    const bytes = new Uint8Array([1, 0, 2, 255]);
    await http.request({ method: 'POST', path: '/form', body: new URLSearchParams({ a: '1', b: 'x y' }) });
    await http.request({ method: 'POST', path: '/buffer', body: bytes.buffer });
    await http.request({ method: 'POST', path: '/view', body: new Uint16Array([1, 2]) });
    await http.request({
      method: 'POST',
      path: '/image',
      body: Buffer.from(bytes),
      headers: { 'Content-Type': 'image/png' },
    });
    await http.request({
      method: 'PATCH',
      path: '/merge',
      body: { name: 'x' },
      headers: { 'Content-Type': 'application/merge-patch+json' },
    });
    const contentTypes = seen.map((entry) =>
      entry.rawHeaders.filter(
        (_value, i) => i % 2 === 0 && entry.rawHeaders[i]?.toLowerCase() === 'content-type',
      ).length === 1
        ? entry.headers['content-type']
        : `sent ${entry.rawHeaders.filter((name) => name.toLowerCase() === 'content-type').length} times`,
    );
    expect(contentTypes).toEqual([
      'application/x-www-form-urlencoded',
      'application/octet-stream',
      'application/octet-stream',
      'image/png',
      'application/merge-patch+json',
    ]);
    const bodies = await Promise.all(seen.map((entry) => entry.body));
    expect(bodies).toEqual([
      'a=1&b=x+y',
      '\u0001\u0000\u0002\u00ff',
      '\u0001\u0000\u0002\u0000',
      '\u0001\u0000\u0002\u00ff',
      '{"name":"x"}',
    ]);
    const unsupported = await failure(
      http.request({ method: 'POST', path: '/map', body: new Map() as never }),
    );
    expect(unsupported).toMatchObject({ code: 'RAMPART_RESILIENCE_REQUEST_INVALID' });
    expect(seen).toHaveLength(5);
  });

  it('does not hold a HEAD response to the Content-Length of the body it never carries', async () => {
    const { url } = await upstream((_req, res) => {
      res.writeHead(200, { 'content-length': String(5 * 1024 * 1024) });
      res.end();
    });
    const http = client(url, { breaker: { consecutiveFailures: 2 } }, { maxBodyBytes: 1024 });
    for (let i = 0; i < 4; i++) {
      const response = await http.request({ method: 'HEAD', path: '/big.iso' });
      expect(response.status).toBe(200);
      expect(response.headers['content-length']).toBe(String(5 * 1024 * 1024));
    }
  });

  it('keeps an oversized body from counting against the breaker', async () => {
    const { url } = await upstream((_req, res) => json(res, 200, { blob: 'x'.repeat(4_096) }));
    const policy = createPolicy({ name: 'upstream', breaker: { consecutiveFailures: 2 } });
    const http = createHttpClient({ baseUrl: url, policy, maxBodyBytes: 1_024 });
    cleanups.push(() => http.close());
    for (let i = 0; i < 3; i++)
      expect(await failure(http.request({ path: '/' }))).toMatchObject({
        code: 'RAMPART_RESILIENCE_BODY_TOO_LARGE',
      });
    expect(policy.breakerState).toBe('closed');
  });

  it('refuses a path with a "." or ".." segment, raw or percent-encoded, before it can leave the base path', async () => {
    const { seen, url } = await upstream((_req, res) => json(res, 200, {}));
    const http = createHttpClient({
      baseUrl: `${url}/api/v2/tenants/acme`,
      policy: createPolicy({ name: 't' }),
    });
    cleanups.push(() => http.close());
    const id = (value: string) => `/receipts/${value}`;
    for (const path of [
      id('../../globex/receipts/7'),
      id(encodeURIComponent('..')),
      id('%2e%2E/%2E%2e/globex'),
      id('.%2e/x'),
      id('..\\..\\globex'),
      '/./receipts',
      '/receipts/..',
    ]) {
      expect(await failure(http.request({ path }))).toMatchObject({
        code: 'RAMPART_RESILIENCE_REQUEST_INVALID',
      });
    }
    expect(seen).toHaveLength(0);
    // Dots inside a segment, and anything in the query, are fine.
    await http.request({ path: '/files/report.v2..final.pdf?next=/a/../b' });
    expect(seen.map((entry) => entry.url)).toEqual([
      '/api/v2/tenants/acme/files/report.v2..final.pdf?next=/a/../b',
    ]);
  });

  it('answers a request whose deadline has run out with DEADLINE_EXCEEDED (504), sending nothing', async () => {
    const { seen, url } = await upstream((_req, res) => json(res, 200, {}));
    const error = await failure(client(url).request({ path: '/', deadlineMs: 0 }));
    expect(error).toMatchObject({ code: 'RAMPART_RESILIENCE_DEADLINE_EXCEEDED', statusCode: 504 });
    expect(seen).toHaveLength(0);
  });

  it('fails at once with the upstream status when its Retry-After is longer than the deadline left', async () => {
    const { seen, url } = await upstream((_req, res) => json(res, 429, {}, { 'retry-after': '10' }));
    const error = await failure(
      client(url, { attemptTimeoutMs: 5_000 }).request({ path: '/rates', deadlineMs: 1_500 }),
    );
    expect(error).toMatchObject({
      code: 'RAMPART_RESILIENCE_UPSTREAM_STATUS',
      statusCode: 502,
      upstreamStatus: 429,
      retryAfterMs: 10_000,
    });
    expect(seen).toHaveLength(1);
  });

  it('re-opens a half-open breaker when its probe is answered 429', async () => {
    let n = 0;
    const { url } = await upstream((_req, res) => {
      n += 1;
      json(res, n <= 2 ? 503 : 429, {});
    });
    const policy = createPolicy({
      name: 'upstream',
      retry: false,
      breaker: { consecutiveFailures: 2, halfOpenAfterMs: 50 },
    });
    const http = createHttpClient({ baseUrl: url, policy });
    cleanups.push(() => http.close());
    for (let i = 0; i < 2; i++) await failure(http.request({ path: '/' }));
    expect(policy.breakerState).toBe('open');
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(await failure(http.request({ path: '/' }))).toMatchObject({ upstreamStatus: 429 });
    expect(policy.breakerState).toBe('open');
  });

  it('keeps at most a few KiB of a failure body in the error', async () => {
    const { url } = await upstream((_req, res) => json(res, 500, { trace: 'y'.repeat(100_000) }));
    const error = await failure(client(url, { retry: false }).request({ path: '/' }));
    const cause = error.cause as { status: number; body: Buffer; text(): string };
    expect(cause.status).toBe(500);
    expect(cause.body.length).toBe(4_096);
    expect(cause.text()).toMatch(/^\{"trace":"y+$/);
  });
});
