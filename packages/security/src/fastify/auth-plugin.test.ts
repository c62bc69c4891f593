import { Writable } from 'node:stream';
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../../test/app.ts';
import { pinoRedactPaths, redactText } from '../redaction.ts';
import { apiKeyAuthPlugin } from './auth-plugin.ts';
import { problemErrorsPlugin } from './errors-plugin.ts';
import { securityHeadersPlugin } from './headers-plugin.ts';
import { rateLimitPlugin } from './rate-limit-plugin.ts';

const apps: TestApp[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

async function build(...args: Parameters<typeof buildTestApp>) {
  const built = await buildTestApp(...args);
  apps.push(built);
  return built;
}

describe('apiKeyAuthPlugin', () => {
  it('fails registration of a route that declares no auth decision', async () => {
    const app = Fastify({ logger: false });
    await app.register(apiKeyAuthPlugin, { verifier: { verify: async () => undefined } });
    expect(() => app.get('/forgotten', async () => 'oops')).toThrow(
      expect.objectContaining({ code: 'RAMPART_SECURITY_ROUTE_AUTH_MISSING' }),
    );
    expect(() =>
      app.get('/typo', { config: { auth: { scope: ['x'] } as never } }, async () => 'oops'),
    ).toThrow(expect.objectContaining({ code: 'RAMPART_SECURITY_ROUTE_AUTH_MISSING' }));
    await app.close();
  });

  it('401 without a key, 401 with a bad key, 403 without the scope, 200 with it', async () => {
    const { app, keys } = await build();
    const reader = await keys.create({ name: 'reader', scopes: ['orders:read'] });
    const none = await app.inject({ method: 'GET', url: '/orders' });
    expect(none.statusCode).toBe(401);
    expect(none.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    expect(none.json().code).toBe('RAMPART_SECURITY_AUTH_REQUIRED');
    const bad = await app.inject({
      method: 'GET',
      url: '/orders',
      headers: { 'x-api-key': `${reader.key}x` },
    });
    expect(bad.json()).toMatchObject({ status: 401, code: 'RAMPART_SECURITY_KEY_INVALID' });
    const forbidden = await app.inject({
      method: 'GET',
      url: '/admin/users',
      headers: { 'x-api-key': reader.key },
    });
    expect(forbidden.json()).toMatchObject({ status: 403, code: 'RAMPART_SECURITY_SCOPE_MISSING' });
    const ok = await app.inject({
      method: 'GET',
      url: '/orders',
      headers: { authorization: `Bearer ${reader.key}` },
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().key).toBe(reader.record.id);
    expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
  });

  it('rejects a key in the query string even when a valid header is also sent', async () => {
    const { app, keys } = await build();
    const { key } = await keys.create({ name: 'r', scopes: ['orders:read'] });
    for (const url of [
      `/orders?api_key=${key}`,
      `/orders?x=${encodeURIComponent(key)}`,
      '/orders?token=abc',
    ]) {
      const response = await app.inject({ method: 'GET', url, headers: { 'x-api-key': key } });
      expect(response.statusCode).toBe(400);
      expect(response.json().code).toBe('RAMPART_SECURITY_KEY_IN_QUERY');
      expect(response.body).not.toContain(key);
    }
  });

  it('protects unknown paths too, so routes cannot be mapped without a key', async () => {
    const { app, keys } = await build();
    expect((await app.inject({ method: 'GET', url: '/secret-admin' })).statusCode).toBe(401);
    const { key } = await keys.create({ name: 'r' });
    expect(
      (await app.inject({ method: 'GET', url: '/secret-admin', headers: { 'x-api-key': key } })).statusCode,
    ).toBe(404);
  });

  it('limits failed authentications per client address, then answers 429 even for a good key', async () => {
    const { app, keys } = await build({ auth: { failedAuth: { max: 3, timeWindowMs: 60_000 } } });
    const { key } = await keys.create({ name: 'r', scopes: ['orders:read'] });
    const attempt = (apiKey: string, remoteAddress = '198.51.100.20') =>
      app.inject({ method: 'GET', url: '/orders', remoteAddress, headers: { 'x-api-key': apiKey } });
    for (let index = 0; index < 3; index += 1) expect((await attempt('rk_live_guess')).statusCode).toBe(401);
    const blocked = await attempt(key);
    expect(blocked.statusCode).toBe(429);
    expect(blocked.json().code).toBe('RAMPART_SECURITY_AUTH_RATE_LIMITED');
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    expect((await attempt(key, '198.51.100.21')).statusCode).toBe(200);
  });

  it('a verifier that throws, before or after its promise, answers 500 problem+json and never hangs', async () => {
    const throwing = [
      // Throws before returning a promise (a plain function checking its input).
      {
        verify: (presented: string) => {
          if (presented.length > 10) throw new TypeError('too long');
          return Promise.resolve(undefined);
        },
      },
      // Resolves something the hook cannot read (scopes missing), after a wait.
      { verify: async () => ({ id: 'k', name: 'k', env: 'live', scopes: null as never }) },
      // verifyCached made async by mistake: a thenable is not an answer, so verify decides (401).
      { verify: async () => undefined, verifyCached: (async () => undefined) as never },
    ];
    const statuses = [];
    for (const verifier of throwing) {
      const { app } = await build({ auth: { verifier, failedAuth: { max: 100, timeWindowMs: 60_000 } } });
      const response = await app.inject({
        method: 'GET',
        url: '/orders',
        headers: { 'x-api-key': 'rk_live_0123456789abcdef_x' },
      });
      expect(response.headers['content-type']).toBe('application/problem+json; charset=utf-8');
      expect(response.body).not.toMatch(/too long|scopes|TypeError/);
      statuses.push(response.statusCode);
    }
    expect(statuses).toEqual([500, 500, 401]);
  });

  it('rate-limits by key id, not address: two keys behind one address count apart', async () => {
    const { app, keys } = await build({ rateLimit: { max: 2, timeWindowMs: 60_000 } });
    const a = await keys.create({ name: 'a', scopes: ['orders:read'] });
    const b = await keys.create({ name: 'b', scopes: ['orders:read'] });
    const get = (key: string, remoteAddress: string) =>
      app.inject({ method: 'GET', url: '/orders', remoteAddress, headers: { 'x-api-key': key } });
    expect((await get(a.key, '198.51.100.1')).statusCode).toBe(200);
    expect((await get(a.key, '198.51.100.2')).statusCode).toBe(200);
    expect((await get(a.key, '198.51.100.3')).statusCode).toBe(429);
    expect((await get(b.key, '198.51.100.1')).statusCode).toBe(200);
  });

  it('a canary key sent in headers, query and body never appears in the log', async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const { app, keys } = await build({
      logger: {
        level: 'trace',
        stream,
        redact: { paths: pinoRedactPaths(['req.body']), censor: '[REDACTED]' },
        serializers: {
          req: (request: { method: string; url: string; headers: Record<string, unknown> }) => ({
            method: request.method,
            url: redactText(request.url),
            headers: request.headers,
          }),
        },
      },
    });
    const canary = (await keys.create({ name: 'canary', scopes: ['orders:write'] })).key;
    await app.inject({
      method: 'GET',
      url: '/orders',
      headers: { 'x-api-key': canary, cookie: `s=${canary}` },
    });
    await app.inject({ method: 'GET', url: '/orders', headers: { authorization: `Bearer ${canary}` } });
    await app.inject({
      method: 'POST',
      url: '/orders',
      headers: { 'x-api-key': canary },
      payload: { item: canary },
    });
    await app.inject({ method: 'GET', url: `/orders?api_key=${canary}` });
    expect(lines.length).toBeGreaterThan(4);
    expect(lines.join('')).toContain('[REDACTED]');
    const secret = canary.split('_').at(-1)!;
    const leaks = lines.filter((line) => line.includes(secret));
    expect(leaks).toEqual([]);
  });

  it('limits failed authentications by default (20 a minute per address); failedAuth: false turns it off', async () => {
    const { app } = await build();
    const guess = (remoteAddress: string) =>
      app.inject({ method: 'GET', url: '/orders', remoteAddress, headers: { 'x-api-key': 'rk_live_guess' } });
    for (let index = 0; index < 20; index += 1) expect((await guess('198.51.100.60')).statusCode).toBe(401);
    const blocked = await guess('198.51.100.60');
    expect(blocked.statusCode).toBe(429);
    expect(blocked.json().code).toBe('RAMPART_SECURITY_AUTH_RATE_LIMITED');
    // Requests without any key count too.
    for (let index = 0; index < 20; index += 1) {
      expect((await app.inject({ url: '/orders', remoteAddress: '198.51.100.61' })).statusCode).toBe(401);
    }
    expect((await app.inject({ url: '/orders', remoteAddress: '198.51.100.61' })).statusCode).toBe(429);

    const { app: open } = await build({ auth: { failedAuth: false } });
    const codes = new Set<number>();
    for (let index = 0; index < 30; index += 1) {
      codes.add((await open.inject({ url: '/orders', remoteAddress: '198.51.100.62' })).statusCode);
    }
    expect([...codes]).toEqual([401]);
  });

  it('reports a misconfiguration through ready(), never as an uncaught exception', async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.prependListener('uncaughtException', onUncaught);
    try {
      const cases: Array<[string, (app: ReturnType<typeof Fastify>) => Promise<unknown>]> = [
        ['no verifier', async (app) => app.register(apiKeyAuthPlugin, {} as never)],
        [
          'verifyCached not a function',
          async (app) =>
            app.register(apiKeyAuthPlugin, {
              verifier: { verify: async () => undefined, verifyCached: 1 as never },
            }),
        ],
        [
          'failedAuth without the rate-limit plugin',
          async (app) =>
            app.register(apiKeyAuthPlugin, {
              verifier: { verify: async () => undefined },
              failedAuth: { max: 1, timeWindowMs: 1000 },
            }),
        ],
        [
          'bad failedAuth limits',
          async (app) => {
            await app.register(rateLimitPlugin);
            return app.register(apiKeyAuthPlugin, {
              verifier: { verify: async () => undefined },
              failedAuth: { max: 0, timeWindowMs: 1000 },
            });
          },
        ],
        [
          'bad hstsMaxAgeSeconds',
          async (app) => app.register(securityHeadersPlugin, { hstsMaxAgeSeconds: -1 }),
        ],
        [
          'noStore not a boolean',
          async (app) => app.register(securityHeadersPlugin, { noStore: 'no' as never }),
        ],
        [
          'typeBase not a string',
          async (app) => app.register(problemErrorsPlugin, { typeBase: 42 as never }),
        ],
      ];
      for (const [name, setup] of cases) {
        const app = Fastify({ logger: false });
        void setup(app).catch(() => undefined);
        await expect(app.ready(), name).rejects.toMatchObject({ code: 'RAMPART_SECURITY_OPTIONS_INVALID' });
        await app.close().catch(() => undefined);
      }
      await new Promise((resolve) => setImmediate(resolve));
      expect(uncaught).toEqual([]);
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });

  it('without the rate-limit plugin the default failed-auth limit is off, with a warning', async () => {
    const lines: string[] = [];
    const app = Fastify({
      logger: {
        level: 'warn',
        stream: new Writable({
          write(chunk, _encoding, done) {
            lines.push(String(chunk));
            done();
          },
        }),
      },
    });
    await app.register(problemErrorsPlugin);
    await app.register(apiKeyAuthPlugin, { verifier: { verify: async () => undefined } });
    app.get('/x', { config: { auth: { scopes: [] } } }, async () => ({}));
    await app.ready();
    for (let index = 0; index < 25; index += 1)
      expect((await app.inject({ url: '/x' })).statusCode).toBe(401);
    expect(lines.join('')).toMatch(/failed-authentication limiting is off/);
    await app.close();
  });

  it('an Authorization of "Bearer " with nothing after it presents no key: 401 AUTH_REQUIRED', async () => {
    const { app } = await build();
    for (const authorization of ['Bearer ', 'Bearer    ', 'bearer \t']) {
      const response = await app.inject({ method: 'GET', url: '/orders', headers: { authorization } });
      expect(response.statusCode).toBe(401);
      expect(response.json().code).toBe('RAMPART_SECURITY_AUTH_REQUIRED');
    }
  });
});
