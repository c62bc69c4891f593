import { once } from 'node:events';
import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import Fastify, { type FastifyInstance } from 'fastify';
import Type from 'typebox';
import { afterEach, describe, expect, it } from 'vitest';
import { problemClientErrorHandler, problemErrorsPlugin, problemFrameworkErrors } from './errors-plugin.ts';
import { securityHeadersPlugin } from './headers-plugin.ts';
import { useTypeBox } from './typebox.ts';

const LEAK = 'SELECT password FROM users WHERE id = 42 -- pg: relation "users" does not exist';
let app: FastifyInstance;
afterEach(() => app?.close());

interface BuildOptions {
  bodyLimit?: number;
  requestTimeoutMs?: number;
  requireHostHeader?: boolean;
}

async function build(options: BuildOptions = {}) {
  app = Fastify({
    logger: false,
    bodyLimit: options.bodyLimit ?? 1024,
    frameworkErrors: problemFrameworkErrors(),
    clientErrorHandler: problemClientErrorHandler(),
    ...(options.requestTimeoutMs ? { requestTimeout: options.requestTimeoutMs } : {}),
    http: {
      ...(options.requestTimeoutMs
        ? { headersTimeout: options.requestTimeoutMs, connectionsCheckingInterval: 50 }
        : {}),
      ...(options.requireHostHeader === undefined ? {} : { requireHostHeader: options.requireHostHeader }),
    },
  });
  await app.register(securityHeadersPlugin);
  await app.register(problemErrorsPlugin);
  const typed = useTypeBox(app);
  let reached = 0;
  typed.post(
    '/items',
    { schema: { body: Type.Object({ name: Type.String({ maxLength: 20 }), count: Type.Integer() }) } },
    async (request) => {
      reached += 1;
      return { name: request.body.name, count: request.body.count };
    },
  );
  typed.get('/boom', async () => {
    const error = new Error(LEAK) as Error & { code: string };
    error.code = '42P01';
    throw error;
  });
  typed.get('/ok', async () => ({ ok: true }));
  typed.delete('/items/:id', async () => ({ deleted: true }));
  typed.get('/gone', async (_request, reply) => reply.callNotFound());
  await app.ready();
  return { reached: () => reached };
}

function expectProblem(
  response: { statusCode: number; headers: Record<string, unknown>; body: string },
  status: number,
  code: string,
) {
  expect(response.statusCode).toBe(status);
  expect(response.headers['content-type']).toBe('application/problem+json; charset=utf-8');
  const body = JSON.parse(response.body);
  expect(body).toMatchObject({ status, code, type: expect.stringMatching(/^urn:rampart:problem:/) });
  expect(typeof body.title).toBe('string');
  expect(response.body).not.toMatch(/stack|at .*\.ts:\d+|node_modules|FST_ERR/);
  expect(response.headers['x-content-type-options']).toBe('nosniff');
  expect(response.headers['cache-control']).toBe('no-store');
  return body;
}

const json = { 'content-type': 'application/json' };

describe('problemErrorsPlugin', () => {
  it('answers schema violations with 400 and where they are, never reaching the handler', async () => {
    const state = await build();
    const response = await app.inject({ method: 'POST', url: '/items', headers: json, payload: { name: 5 } });
    const body = expectProblem(response, 400, 'RAMPART_SECURITY_VALIDATION_FAILED');
    expect(body.errors.length).toBeGreaterThan(0);
    expect(body.errors[0]).toMatchObject({
      in: 'body',
      path: expect.any(String),
      message: expect.any(String),
    });
    expect(state.reached()).toBe(0);
  });

  it('validates the body and passes a good one through', async () => {
    const state = await build();
    const response = await app.inject({
      method: 'POST',
      url: '/items',
      headers: json,
      payload: { name: 'a', count: 2 },
    });
    expect(response.json()).toEqual({ name: 'a', count: 2 });
    expect(state.reached()).toBe(1);
  });

  it.each([
    ['text/plain', '{"name":"a","count":1}', 415, 'RAMPART_SECURITY_MEDIA_TYPE_UNSUPPORTED'],
    ['application/x-www-form-urlencoded', 'name=a&count=1', 415, 'RAMPART_SECURITY_MEDIA_TYPE_UNSUPPORTED'],
    [
      'application/json; charset=utf-8',
      '"{\\"name\\":\\"a\\",\\"count\\":1}"',
      400,
      'RAMPART_SECURITY_VALIDATION_FAILED',
    ],
    ['application/json', '[{"name":"a","count":1}]', 400, 'RAMPART_SECURITY_VALIDATION_FAILED'],
    ['application/json', '{"name":"a","count":"1"}', 400, 'RAMPART_SECURITY_VALIDATION_FAILED'],
    ['application/json', '{"name":"a",', 400, 'RAMPART_SECURITY_BODY_MALFORMED'],
    ['application/json', '', 400, 'RAMPART_SECURITY_BODY_MALFORMED'],
    [
      'application/json',
      '{"__proto__":{"admin":true},"name":"a","count":1}',
      400,
      'RAMPART_SECURITY_PROTOTYPE_POISONING',
    ],
    [
      'application/json',
      '{"name":"a","count":1,"x":{"\\u005f_proto__":{}}}',
      400,
      'RAMPART_SECURITY_PROTOTYPE_POISONING',
    ],
    [
      'application/json',
      '{"constructor":{"prototype":{"admin":true}},"name":"a","count":1}',
      400,
      'RAMPART_SECURITY_PROTOTYPE_POISONING',
    ],
    ['application/json', '{"name":"a\\u0000b","count":1}', 400, 'RAMPART_SECURITY_BODY_TEXT_INVALID'],
    ['application/json', '{"name":"a\\ud800b","count":1}', 400, 'RAMPART_SECURITY_BODY_TEXT_INVALID'],
    ['application/json', '{"name":"\\uDE00","count":1}', 400, 'RAMPART_SECURITY_BODY_TEXT_INVALID'],
    [
      'application/json',
      '{"name":"a","count":1,"tags":[{"k\\u0000":1}]}',
      400,
      'RAMPART_SECURITY_BODY_TEXT_INVALID',
    ],
    [
      'application/json; charset=iso-8859-1',
      '{"name":"a","count":1}',
      415,
      'RAMPART_SECURITY_MEDIA_TYPE_UNSUPPORTED',
    ],
    [
      'application/json;charset="utf-16"',
      '{"name":"a","count":1}',
      415,
      'RAMPART_SECURITY_MEDIA_TYPE_UNSUPPORTED',
    ],
    ['application/json', '\ufeff{"name":"a","count":1}', 400, 'RAMPART_SECURITY_BODY_MALFORMED'],
  ])('content type %s with %s: %i %s, handler never runs', async (type, payload, status, code) => {
    const state = await build();
    const response = await app.inject({
      method: 'POST',
      url: '/items',
      headers: { 'content-type': type },
      payload,
    });
    expectProblem(response, status, code);
    expect(state.reached()).toBe(0);
  });

  it('refuses a body that is not UTF-8 instead of storing U+FFFD in place of its bytes', async () => {
    const state = await build();
    for (const bytes of [[0xe9], [0xc3], [0xed, 0xa0, 0x80], [0xff, 0xfe]]) {
      const payload = Buffer.concat([
        Buffer.from('{"name":"caf'),
        Buffer.from(bytes),
        Buffer.from('","count":1}'),
      ]);
      const response = await app.inject({ method: 'POST', url: '/items', headers: json, payload });
      expectProblem(response, 400, 'RAMPART_SECURITY_BODY_MALFORMED');
    }
    expect(state.reached()).toBe(0);
  });

  it('passes every well-formed text through unchanged: escapes, pairs, non-ASCII, a UTF-8 charset', async () => {
    const state = await build();
    for (const [type, payload, name] of [
      ['application/json', '{"name":"caf\\u00e9 \\ud83d\\ude00","count":1}', 'café 😀'],
      ['application/json; charset=UTF-8', '{"name":"café 😀","count":1}', 'café 😀'],
      ['application/json; charset="utf-8"', '{"name":"a\\\\u0000","count":1}', 'a\\u0000'],
    ] as const) {
      const response = await app.inject({
        method: 'POST',
        url: '/items',
        headers: { 'content-type': type },
        payload,
      });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual({ name, count: 1 });
    }
    expect(state.reached()).toBe(3);
  });

  it('answers a body over the limit with 413', async () => {
    await build({ bodyLimit: 1024 });
    const response = await app.inject({
      method: 'POST',
      url: '/items',
      headers: json,
      payload: JSON.stringify({ name: 'a', count: 1, pad: 'x'.repeat(4096) }),
    });
    expectProblem(response, 413, 'RAMPART_SECURITY_BODY_TOO_LARGE');
  });

  it('answers an internal error with a bare 500: no message, SQL, driver code or stack', async () => {
    await build();
    const response = await app.inject({ method: 'GET', url: '/boom' });
    const body = expectProblem(response, 500, 'RAMPART_SECURITY_INTERNAL');
    expect(response.body).not.toContain('password');
    expect(response.body).not.toContain('42P01');
    expect(response.body).not.toContain('users');
    expect(Object.keys(body).sort()).toEqual(['code', 'detail', 'requestId', 'status', 'title', 'type']);
  });

  it('answers a path no route matches with 404, and a handler calling callNotFound with 404 too', async () => {
    await build();
    for (const [method, url] of [
      ['GET', '/nope'],
      ['DELETE', '/nope/7'],
      ['GET', '/gone'],
      ['PROPFIND', '/gone/x'],
    ] as const) {
      const response = await app.inject({ method, url });
      expectProblem(response, 404, 'RAMPART_SECURITY_NOT_FOUND');
      expect(response.headers.allow).toBeUndefined();
    }
  });

  it.each([
    ['DELETE', '/ok', 'GET, HEAD'],
    ['POST', '/ok?x=1', 'GET, HEAD'],
    ['GET', '/items', 'POST'],
    ['PUT', '/items', 'POST'],
    ['GET', '/items/7?full=true', 'DELETE'],
    ['OPTIONS', '/items/7', 'DELETE'],
    ['PROPFIND', '/ok', 'GET, HEAD'],
  ])('%s %s: 405 with Allow: %s', async (method, url, allow) => {
    await build();
    const response = await app.inject({ method: method as 'GET', url });
    const body = expectProblem(response, 405, 'RAMPART_SECURITY_METHOD_NOT_ALLOWED');
    expect(response.headers.allow).toBe(allow);
    expect(body.title).toBe('Method not allowed');
  });

  it('HEAD on a path only POST accepts: 405 with Allow and no body', async () => {
    await build();
    const response = await app.inject({ method: 'HEAD', url: '/items' });
    expect(response.statusCode).toBe(405);
    expect(response.headers.allow).toBe('POST');
    expect(response.body).toBe('');
  });

  it.each([['gzip'], ['br'], ['GZIP'], ['identity, gzip'], ['x-unknown']])(
    'Content-Encoding %s: 415 with Accept-Encoding: identity, handler never runs',
    async (coding) => {
      const state = await build();
      const response = await app.inject({
        method: 'POST',
        url: '/items',
        headers: { ...json, 'content-encoding': coding },
        payload: gzipSync('{"name":"a","count":1}'),
      });
      expectProblem(response, 415, 'RAMPART_SECURITY_CONTENT_ENCODING_UNSUPPORTED');
      expect(response.headers['accept-encoding']).toBe('identity');
      expect(state.reached()).toBe(0);
    },
  );

  it('Content-Encoding identity (or empty) is no coding: the body passes', async () => {
    const state = await build();
    for (const coding of ['identity', 'Identity', '']) {
      const response = await app.inject({
        method: 'POST',
        url: '/items',
        headers: { ...json, 'content-encoding': coding },
        payload: '{"name":"a","count":1}',
      });
      expect(response.statusCode).toBe(200);
      expect(response.headers['accept-encoding']).toBeUndefined();
    }
    expect(state.reached()).toBe(3);
  });

  it('answers a bad URL encoding through frameworkErrors with problem+json and headers, not the echoed path', async () => {
    await build();
    const response = await app.inject({ method: 'GET', url: '/ok/%zz<script>' });
    expect([400, 404]).toContain(response.statusCode);
    expect(response.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    expect(response.body).not.toContain('<script>');
    expect(response.headers['x-frame-options']).toBe('DENY');
  });

  it.each([
    ['de-CH,de;q=0.9,en;q=0.8', 'de', 'Nicht gefunden'],
    ['fr', 'fr', 'Introuvable'],
    ['en-US;q=0.1, es;q=0.5', 'es', 'No encontrado'],
    ['ja, zh;q=0.8', 'en', 'Not found'],
    ['*;q=0.5,,;;q=x', 'en', 'Not found'],
  ])('Accept-Language %s picks the title in %s', async (header, language, title) => {
    await build();
    const response = await app.inject({
      method: 'GET',
      url: '/missing',
      headers: { 'accept-language': header },
    });
    expect(response.headers['content-language']).toBe(language);
    expect(response.json().title).toBe(title);
  });
});

/** Writes raw bytes to a port-0 server and reads until the server closes the socket. */
async function rawExchange(port: number, ...chunks: string[]): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  let received = '';
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => {
    received += chunk;
  });
  for (const chunk of chunks) socket.write(chunk, 'latin1');
  await once(socket, 'close');
  return received;
}

function rawProblem(response: string, status: number, code: string) {
  const [head = '', body = ''] = response.split('\r\n\r\n');
  expect(head.split('\r\n')[0]).toMatch(new RegExp(`^HTTP/1.1 ${status} `));
  expect(head.toLowerCase()).toContain('content-type: application/problem+json; charset=utf-8');
  expect(head.toLowerCase()).toContain('x-content-type-options: nosniff');
  expect(JSON.parse(body)).toMatchObject({ status, code });
}

describe('requests Node answers before Fastify sees them (a port-0 server, raw sockets)', () => {
  let state: Awaited<ReturnType<typeof build>>;
  async function listening(options: BuildOptions = {}) {
    state = await build(options);
    await app.listen({ port: 0, host: '127.0.0.1' });
    return (app.server.address() as { port: number }).port;
  }

  it('a header the parser rejects: 400 problem+json', async () => {
    const port = await listening();
    const response = await rawExchange(port, 'GET /ok HTTP/1.1\r\nHost: x\r\nX-Key: a\x01b\r\n\r\n');
    rawProblem(response, 400, 'RAMPART_SECURITY_REQUEST_INVALID');
  });

  it('headers over the limit: 431 problem+json', async () => {
    const port = await listening();
    const response = await rawExchange(
      port,
      `GET /ok HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(20_000)}\r\n\r\n`,
    );
    rawProblem(response, 431, 'RAMPART_SECURITY_HEADERS_TOO_LARGE');
  });

  it('a request that stops arriving: 408 problem+json once requestTimeout passes', async () => {
    const port = await listening({ requestTimeoutMs: 300 });
    const response = await rawExchange(
      port,
      'POST /items HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"name":',
    );
    rawProblem(response, 408, 'RAMPART_SECURITY_REQUEST_TIMEOUT');
  });

  it('an Expect other than 100-continue: 417 problem+json, in the client language, and the socket closes', async () => {
    const state = await listening();
    const response = await rawExchange(
      state,
      'POST /items HTTP/1.1\r\nHost: x\r\nExpect: foo\r\nAccept-Language: de\r\nContent-Type: application/json\r\nContent-Length: 22\r\n\r\n',
    );
    rawProblem(response, 417, 'RAMPART_SECURITY_EXPECTATION_FAILED');
    expect(response.toLowerCase()).toContain('content-language: de');
  });

  it('an HTTP/1.1 request without Host (requireHostHeader: false): 400 problem+json, and the socket closes', async () => {
    const port = await listening({ requireHostHeader: false });
    for (const request of [
      'GET /ok HTTP/1.1\r\n\r\n',
      'GET /missing HTTP/1.1\r\n\r\n',
      'GET http://example.com/ok HTTP/1.1\r\n\r\n',
      'POST /items HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 22\r\n\r\n{"name":"a","count":1}',
    ]) {
      const response = await rawExchange(port, request);
      rawProblem(response, 400, 'RAMPART_SECURITY_HOST_MISSING');
      const head = response.split('\r\n\r\n')[0]!.toLowerCase();
      expect(head).toContain('connection: close');
      expect(head).toContain('cache-control: no-store');
      expect(head).toContain("content-security-policy: default-src 'none'");
    }
    expect(state.reached()).toBe(0);
    const german = await rawExchange(port, 'GET /ok HTTP/1.1\r\nAccept-Language: de\r\n\r\n');
    expect(JSON.parse(german.split('\r\n\r\n')[1]!)).toMatchObject({ title: 'Host-Header fehlt' });
  });

  it('an HTTP/1.0 request without Host is legal and served', async () => {
    const port = await listening({ requireHostHeader: false });
    const response = await rawExchange(port, 'GET /ok HTTP/1.0\r\n\r\n');
    expect(response).toMatch(/^HTTP\/1.1 200 OK\r\n/);
    expect(response.endsWith('{"ok":true}')).toBe(true);
  });

  it('more than one Host header, in any case and even the same twice: 400 problem+json', async () => {
    // Node lets these through whatever requireHostHeader says, with the first Host in request.headers.
    const port = await listening();
    for (const request of [
      'GET /ok HTTP/1.1\r\nHost: a.example\r\nhOST: b.example\r\n\r\n',
      'GET /ok HTTP/1.1\r\nHost: a.example\r\nHost: a.example\r\n\r\n',
      'GET /ok HTTP/1.0\r\nhost: a.example\r\nHOST: b.example\r\n\r\n',
    ]) {
      const response = await rawExchange(port, request);
      rawProblem(response, 400, 'RAMPART_SECURITY_HOST_DUPLICATED');
      expect(response.toLowerCase()).toContain('connection: close');
    }
    const one = await rawExchange(port, 'GET /ok HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n');
    expect(one).toMatch(/^HTTP\/1.1 200 OK\r\n/);
    // inject sends a header given as an array once per value, as a client would (its types say string only).
    const hosts = ['a.example', 'b.example'] as unknown as string;
    const injected = await app.inject({ url: '/ok', headers: { host: hosts } });
    expectProblem(injected, 400, 'RAMPART_SECURITY_HOST_DUPLICATED');
  });

  it('without requireHostHeader: false, Node answers a request without Host itself: a bare 400', async () => {
    const port = await listening();
    const response = await rawExchange(port, 'GET /ok HTTP/1.1\r\n\r\n');
    expect(response).toMatch(/^HTTP\/1.1 400 Bad Request\r\n/);
    expect(response.toLowerCase()).not.toContain('application/problem+json');
  });

  it('Expect: 100-continue still works', async () => {
    const port = await listening();
    const response = await rawExchange(
      port,
      'POST /items HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 22\r\n\r\n',
      '{"name":"a","count":1}',
    );
    expect(response).toContain('HTTP/1.1 100 Continue');
    expect(response).toContain('HTTP/1.1 200 OK');
    expect(response).toContain('{"name":"a","count":1}');
  });
});

describe('problemErrorsPlugin: body shape and odd errors', () => {
  it('refuses a body nested deeper than 256 levels with 400, where it used to fail later as a 500', async () => {
    app = Fastify({ logger: false, bodyLimit: 1_048_576 });
    await app.register(securityHeadersPlugin);
    await app.register(problemErrorsPlugin);
    app.post('/echo', async (request) => ({ body: request.body }));
    await app.ready();
    const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
    for (const depth of [257, 4_464, 100_000]) {
      const response = await app.inject({
        method: 'POST',
        url: '/echo',
        headers: json,
        payload: nested(depth),
      });
      expectProblem(response, 400, 'RAMPART_SECURITY_BODY_TOO_DEEP');
    }
    const objects = `${'{"a":'.repeat(300)}1${'}'.repeat(300)}`;
    expectProblem(
      await app.inject({ method: 'POST', url: '/echo', headers: json, payload: objects }),
      400,
      'RAMPART_SECURITY_BODY_TOO_DEEP',
    );
    // 256 levels are fine, and brackets inside strings are not nesting.
    expect(
      (await app.inject({ method: 'POST', url: '/echo', headers: json, payload: nested(256) })).statusCode,
    ).toBe(200);
    const text = JSON.stringify({ note: '['.repeat(2_000) });
    const echoed = await app.inject({ method: 'POST', url: '/echo', headers: json, payload: text });
    expect(echoed.statusCode).toBe(200);
    expect(echoed.json()).toEqual({ body: JSON.parse(text) });
  });

  it('refuses a number too large for a double (1e400 would become Infinity, echoed as null)', async () => {
    app = Fastify({ logger: false, bodyLimit: 1_048_576 });
    await app.register(securityHeadersPlugin);
    await app.register(problemErrorsPlugin);
    app.post('/echo', async (request) => ({ body: request.body }));
    await app.ready();
    for (const payload of [
      '{"amount":1e400}',
      '[-1E+999]',
      '1e309',
      `{"n":${'9'.repeat(400)}}`,
      `{"pad":"${'x'.repeat(600)}","n":[1e400]}`,
    ]) {
      const response = await app.inject({ method: 'POST', url: '/echo', headers: json, payload });
      expectProblem(response, 400, 'RAMPART_SECURITY_BODY_NUMBER_INVALID');
    }
    for (const payload of [
      '{"amount":1e300}',
      '{"code":"1e400"}',
      '{"n":-0.5e-400}',
      '{"n":123456789012345678901234567890}',
    ]) {
      expect(
        (await app.inject({ method: 'POST', url: '/echo', headers: json, payload })).statusCode,
        payload,
      ).toBe(200);
    }
  });

  it('answers errors with odd codes or a throwing statusCode getter as a generic 500 problem', async () => {
    app = Fastify({ logger: false });
    await app.register(securityHeadersPlugin);
    await app.register(problemErrorsPlugin);
    const throwers: Record<string, () => never> = {
      toString: () => {
        throw Object.assign(new Error('leaky: password=hunter2'), { code: 'toString' });
      },
      constructor: () => {
        throw Object.assign(new Error('leaky: password=hunter2'), { code: 'constructor' });
      },
      proto: () => {
        throw Object.assign(new Error('leaky: password=hunter2'), { code: '__proto__' });
      },
      getter: () => {
        const error = new Error('getter');
        Object.defineProperty(error, 'statusCode', {
          get() {
            throw new Error('boom from getter hunter2');
          },
        });
        throw error;
      },
    };
    for (const [name, thrower] of Object.entries(throwers)) app.get(`/throw/${name}`, async () => thrower());
    await app.ready();
    for (const name of Object.keys(throwers)) {
      const response = await app.inject({ url: `/throw/${name}` });
      const body = expectProblem(response, 500, 'RAMPART_SECURITY_INTERNAL');
      expect(body.title, name).toBe('Internal server error');
      expect(response.body, name).not.toMatch(/hunter2|boom|Cannot read/);
    }
  });

  it("gives a handler's own 404 or 409 a detail that fits its status, never its message", async () => {
    app = Fastify({ logger: false });
    await app.register(problemErrorsPlugin);
    app.get('/order', async () => {
      throw Object.assign(new Error('order 42 of tenant acme not found'), { statusCode: 404 });
    });
    app.put('/order', async () => {
      throw Object.assign(new Error('version 3 != 4 for acme'), { statusCode: 409 });
    });
    await app.ready();
    const missing = (await app.inject({ url: '/order' })).json();
    expect(missing).toMatchObject({
      status: 404,
      title: 'Not found',
      detail: 'the requested resource was not found',
    });
    const conflict = (await app.inject({ method: 'PUT', url: '/order' })).json();
    expect(conflict).toMatchObject({
      status: 409,
      title: 'Conflict',
      detail: 'the request conflicts with the current state of the resource',
    });
    expect(JSON.stringify([missing, conflict])).not.toMatch(/acme/);
  });
});

describe('securityHeadersPlugin', () => {
  it('keeps a header the route set on purpose, but an error response is never cached', async () => {
    app = Fastify({ logger: false });
    await app.register(securityHeadersPlugin);
    await app.register(problemErrorsPlugin);
    app.get('/cached', async (_request, reply) => {
      reply
        .header('cache-control', 'public, max-age=300')
        .header('x-frame-options', 'SAMEORIGIN')
        .header('content-security-policy', "default-src 'self'");
      return { ok: true };
    });
    app.get('/cached-then-fails', async (_request, reply) => {
      reply.header('cache-control', 'public, max-age=300');
      throw new Error('failed after choosing a cache policy');
    });
    await app.ready();
    const cached = await app.inject({ url: '/cached' });
    expect(cached.headers).toMatchObject({
      'cache-control': 'public, max-age=300',
      'x-frame-options': 'SAMEORIGIN',
      'content-security-policy': "default-src 'self'",
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    });
    const failed = await app.inject({ url: '/cached-then-fails' });
    expect(failed.statusCode).toBe(500);
    expect(failed.headers['cache-control']).toBe('no-store');
    expect(failed.headers['x-frame-options']).toBe('DENY');
    // A path no route serves still gets the whole policy.
    const missing = await app.inject({ url: '/nowhere' });
    expect(missing.statusCode).toBe(404);
    expect(missing.headers).toMatchObject({ 'x-frame-options': 'DENY', 'cache-control': 'no-store' });
  });

  it('puts the whole policy on successes too, and no X-Powered-By', async () => {
    await build();
    const response = await app.inject({ method: 'GET', url: '/ok' });
    expect(response.statusCode).toBe(200);
    expect(response.headers).toMatchObject({
      'strict-transport-security': 'max-age=31536000; includeSubDomains',
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'cache-control': 'no-store',
      'content-security-policy': expect.stringContaining("frame-ancestors 'none'"),
    });
    expect(response.headers['x-powered-by']).toBeUndefined();
  });
});
