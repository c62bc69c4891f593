import { Writable } from 'node:stream';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { generateApiKey } from './api-key-format.ts';
import {
  isSecretName,
  pinoRedactPaths,
  REDACTION_LIST,
  redactAttributes,
  redactSecrets,
  redactText,
} from './redaction.ts';

const canary = generateApiKey('live').key;

describe('redaction list', () => {
  it('names the secret headers and keys once', () => {
    expect(REDACTION_LIST.headers).toEqual(
      expect.arrayContaining(['authorization', 'x-api-key', 'cookie', 'set-cookie']),
    );
    expect(isSecretName('Authorization')).toBe(true);
    expect(isSecretName('X-API-KEY')).toBe(true);
    expect(isSecretName('password')).toBe(true);
    expect(isSecretName('user_id')).toBe(false);
    expect(Object.isFrozen(REDACTION_LIST) && Object.isFrozen(REDACTION_LIST.keys)).toBe(true);
  });

  it('scrubs keys from free text and secret query parameters from URLs', () => {
    expect(redactText(`failed for ${canary} twice`)).toBe('failed for [REDACTED] twice');
    expect(redactText(`/orders?page=2&api_key=${encodeURIComponent('abc')}&x=1`)).toBe(
      '/orders?page=2&api_key=[REDACTED]&x=1',
    );
    expect(redactText('/orders?token=t&key=k&Password=p&ok=1')).toBe(
      '/orders?token=[REDACTED]&key=[REDACTED]&Password=[REDACTED]&ok=1',
    );
    expect(redactText('/plain/path')).toBe('/plain/path');
  });

  it('filters span attributes: secret header attributes censored, keys scrubbed from URLs', () => {
    const attributes = redactAttributes({
      'http.request.method': 'GET',
      'http.request.header.authorization': [`Bearer ${canary}`],
      'http.request.header.x-api-key': canary,
      'url.full': `http://127.0.0.1/orders?api_key=${canary}`,
      'url.query': `x=${canary}`,
      'exception.message': `bad key ${canary}`,
      'http.response.status_code': 401,
    });
    expect(JSON.stringify(attributes)).not.toContain(canary.split('_').at(-1));
    expect(attributes['http.request.method']).toBe('GET');
    expect(attributes['http.response.status_code']).toBe(401);
  });

  it('pino paths from the list keep a canary out of Fastify request logs', async () => {
    const lines: string[] = [];
    const app = Fastify({
      logger: {
        level: 'info',
        stream: new Writable({
          write(chunk, _encoding, done) {
            lines.push(String(chunk));
            done();
          },
        }),
        redact: { paths: pinoRedactPaths(), censor: REDACTION_LIST.censor },
        serializers: {
          req: (request: { url: string; headers: Record<string, unknown> }) => ({
            url: redactText(request.url),
            headers: request.headers,
          }),
        },
      },
    });
    app.get('/echo', async (request) => {
      request.log.info({ password: canary, nested: { token: canary } }, `handled`);
      return { ok: true };
    });
    await app.inject({
      method: 'GET',
      url: `/echo?api_key=${canary}`,
      headers: { authorization: `Bearer ${canary}`, 'x-api-key': canary, cookie: `sid=${canary}` },
    });
    await app.close();
    expect(lines.length).toBeGreaterThanOrEqual(3);
    expect(lines.filter((line) => line.includes(canary.split('_').at(-1)!))).toEqual([]);
    expect(lines.join('')).toContain('[REDACTED]');
  });

  it('treats a secret name as secret in any case and spelling', () => {
    for (const name of [
      'apiKey',
      'ApiKey',
      'API_KEY',
      'api-key',
      'accessToken',
      'Access-Token',
      'clientSecret',
      'CLIENT_SECRET',
      'privateKey',
      'refresh-token',
      'Password',
      'PASSWORD',
      'X-Api-Key',
      'X-API-Key',
      'Set-Cookie',
      'Proxy_Authorization',
    ]) {
      expect(isSecretName(name), name).toBe(true);
    }
    for (const name of ['user_id', 'tokens', 'passwordHint2', 'keys', 'api']) {
      expect(isSecretName(name), name).toBe(false);
    }
  });

  it('pino paths censor every spelling at the top of a line and one level down, and headers in any case', () => {
    const lines: string[] = [];
    const app = Fastify({
      logger: {
        level: 'info',
        stream: new Writable({
          write(chunk, _encoding, done) {
            lines.push(String(chunk));
            done();
          },
        }),
        redact: { paths: pinoRedactPaths(), censor: REDACTION_LIST.censor },
      },
    });
    const cases: object[] = [
      { apiKey: canary },
      { accessToken: canary },
      { clientSecret: canary },
      { privateKey: canary },
      { Password: canary },
      { API_KEY: canary },
      { 'api-key': canary },
      { body: { apiKey: canary, Password: canary, refresh_token: canary } },
      { req: { headers: { Authorization: `Bearer ${canary}`, 'X-Api-Key': canary, COOKIE: canary } } },
      { headers: { 'X-API-KEY': canary, 'Set-Cookie': canary } },
    ];
    for (const fields of cases) app.log.info(fields, 'line');
    expect(lines).toHaveLength(cases.length);
    expect(lines.filter((line) => line.includes(canary))).toEqual([]);
    void app.close();
  });

  it('pino paths without the wildcards keep the top-level spellings and headers, for a logger that scrubs nested values', () => {
    const all = pinoRedactPaths(['body.ssn']);
    const flat = pinoRedactPaths(['body.ssn'], { nested: false });
    expect(flat.filter((path) => path.startsWith('*'))).toEqual([]);
    expect(all.filter((path) => path.startsWith('*')).length).toBeGreaterThan(10);
    expect(flat).toEqual(all.filter((path) => !path.startsWith('*')));
    expect(flat).toContain('["apiKey"]');
    expect(flat).toContain('req.headers["x-api-key"]');
    expect(flat.at(-1)).toBe('body.ssn');
    expect(() => pinoRedactPaths([], { nested: 'no' as unknown as boolean })).toThrow(/nested must be/);
  });

  it('redactSecrets censors secret names at any depth, in arrays and errors, and never changes its input', () => {
    const input = {
      ok: 1,
      body: {
        user: { name: 'ann', password: canary, profile: { settings: { Access_Token: canary } } },
        items: [{ token: canary, n: 1 }, { n: 2 }, [{ clientSecret: canary }]],
        note: `the key is ${canary}`,
      },
      err: Object.assign(new Error(`failed with ${canary}`), {
        config: { headers: { Authorization: `Bearer ${canary}` } },
      }),
    };
    const snapshot = JSON.stringify(input);
    const clean = redactSecrets(input);
    expect(JSON.stringify(clean)).not.toContain(canary);
    expect((clean.err as Error).message).not.toContain(canary);
    expect((clean.err as Error).stack).not.toContain(canary);
    expect(clean.err).toBeInstanceOf(Error);
    expect(clean.body.user.password).toBe('[REDACTED]');
    expect(clean.body.items[1]).toBe(input.body.items[1]);
    expect(clean.body.user.name).toBe('ann');
    expect(JSON.stringify(input)).toBe(snapshot);
    expect(input.body.user.password).toBe(canary);
    // Nothing to censor: the same reference back, nothing copied.
    const plain = { a: [1, { b: 'text' }], c: { d: null } };
    expect(redactSecrets(plain)).toBe(plain);
    // Cycles and values with internal state do not break it.
    const cyclic: Record<string, unknown> = { token: canary, when: new Date(0), bytes: Buffer.from('x') };
    cyclic.self = cyclic;
    const cleanCycle = redactSecrets(cyclic);
    expect(cleanCycle.token).toBe('[REDACTED]');
    expect(cleanCycle.when).toBe(cyclic.when);
    expect(cleanCycle.bytes).toBe(cyclic.bytes);
    // A cycle kept as it was led from the copy back to the original, whose token a cycle-safe serializer
    // (pino's) then wrote out before it met the cycle.
    expect(cleanCycle.self).toBe('[Circular]');
    const written: string[] = [];
    const app = Fastify({ logger: { stream: { write: (line: string) => void written.push(line) } } });
    app.log.info({ value: cleanCycle, nested: redactSecrets({ list: [cyclic] }) }, 'cycle');
    expect(written.join('')).toContain('[Circular]');
    expect(written.join('')).not.toContain(canary);
    void app.close();
  });

  it('redactAttributes scrubs arrays and nested values; redactText URL passwords and access-token', () => {
    const attributes = redactAttributes({
      'http.request.header.x-forwarded': [canary, 'other'],
      'app.clients': [{ apiKey: 'k1' }],
      'db.password': 'x',
      'app.count': 3,
    });
    expect(JSON.stringify(attributes)).not.toContain(canary);
    expect(JSON.stringify(attributes)).not.toContain('k1');
    expect(attributes['http.request.header.x-forwarded']).toEqual(['[REDACTED]', 'other']);
    expect(attributes['db.password']).toBe('[REDACTED]');
    expect(attributes['app.count']).toBe(3);
    expect(redactText('postgres://app:hunter2@db:5432/app?sslmode=require')).toBe(
      'postgres://app:[REDACTED]@db:5432/app?sslmode=require',
    );
    expect(redactText('connect redis://:hunter2@cache:6379 failed')).toBe(
      'connect redis://:[REDACTED]@cache:6379 failed',
    );
    expect(redactText('/x?access-token=abc123&api-key=zzz&Access_Token=q&page=2')).toBe(
      '/x?access-token=[REDACTED]&api-key=[REDACTED]&Access_Token=[REDACTED]&page=2',
    );
    expect(redactText('mailto:ann@example.com')).toBe('mailto:ann@example.com');
  });
});
