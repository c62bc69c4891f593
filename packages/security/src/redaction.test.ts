import { Writable } from 'node:stream';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { generateApiKey } from './api-key-format.ts';
import { isSecretName, pinoRedactPaths, REDACTION_LIST, redactAttributes, redactText } from './redaction.ts';

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
});
