import Fastify, { type FastifyInstance } from 'fastify';
import Type from 'typebox';
import { afterEach, describe, expect, it } from 'vitest';
import { problemErrorsPlugin, problemFrameworkErrors } from './errors-plugin.ts';
import { securityHeadersPlugin } from './headers-plugin.ts';
import { useTypeBox } from './typebox.ts';

const LEAK = 'SELECT password FROM users WHERE id = 42 -- pg: relation "users" does not exist';
let app: FastifyInstance;
afterEach(() => app?.close());

async function build(options: { bodyLimit?: number } = {}) {
  app = Fastify({
    logger: false,
    bodyLimit: options.bodyLimit ?? 1024,
    frameworkErrors: problemFrameworkErrors(),
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

  it('answers unknown routes and methods with 404 problem+json', async () => {
    await build();
    expectProblem(await app.inject({ method: 'GET', url: '/nope' }), 404, 'RAMPART_SECURITY_NOT_FOUND');
    expectProblem(await app.inject({ method: 'DELETE', url: '/ok' }), 404, 'RAMPART_SECURITY_NOT_FOUND');
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

describe('securityHeadersPlugin', () => {
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
