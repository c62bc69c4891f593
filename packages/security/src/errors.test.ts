import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isSecurityError, SECURITY_ERRORS, SecurityError } from './errors.ts';

describe('errors', () => {
  it('match the README errors table exactly: code, status and message', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const rows = readme
      .split('\n')
      .map((line) => line.split('|').map((cell) => cell.trim()))
      .filter((cells) => /^`RAMPART_SECURITY_[A-Z_]+`$/.test(cells[1] ?? ''))
      .map((cells) => [cells[1]!.slice(1, -1), Number(cells[2]), cells[3]]);
    const table = Object.entries(SECURITY_ERRORS).map(([code, entry]) => [code, entry.status, entry.message]);
    expect(rows).toEqual(table);
  });

  it('carry code, status and cause, and are recognised by code', () => {
    const cause = new Error('driver said no');
    const error = new SecurityError('RAMPART_SECURITY_RATE_LIMIT_UNAVAILABLE', { cause });
    expect(error).toMatchObject({ code: 'RAMPART_SECURITY_RATE_LIMIT_UNAVAILABLE', statusCode: 503, cause });
    expect(isSecurityError(error)).toBe(true);
    expect(isSecurityError({ code: 'RAMPART_SECURITY_INTERNAL' })).toBe(true);
    expect(isSecurityError({ code: 'ECONNREFUSED' })).toBe(false);
    expect(isSecurityError({ code: 'toString' })).toBe(false);
  });
});

describe('public surface', () => {
  it('pins the export names of each entry', async () => {
    expect(Object.keys(await import('./index.ts')).sort()).toEqual([
      'API_KEYS_DEFAULTS',
      'API_KEY_PATTERN',
      'PROBLEM_CONTENT_TYPE',
      'PROBLEM_LANGUAGES',
      'REDACTION_LIST',
      'SECURITY_ERRORS',
      'SECURITY_HEADERS_DEFAULTS',
      'SecurityError',
      'WEBHOOK_DEFAULTS',
      'apiKeys',
      'clientAddressKey',
      'countStaleValues',
      'createApiKeys',
      'createClientAddressResolver',
      'createFieldCipher',
      'createMemoryCounterStore',
      'createMemoryReplayStore',
      'createRedisCounterStore',
      'createWebhookSigner',
      'encryptedColumn',
      'generateApiKey',
      'isSecretName',
      'isSecurityError',
      'logRedaction',
      'migrationsFolder',
      'migrationsTable',
      'negotiateLanguage',
      'parseApiKey',
      'pinoRedactPaths',
      'problemTitle',
      'redactAttributes',
      'redactSecrets',
      'redactText',
      'reencryptColumn',
      'sealField',
      'securityHeaders',
      'toProblem',
      'waitForRedis',
    ]);
    expect(Object.keys(await import('./fastify.ts')).sort()).toEqual([
      'API_KEY_AUTH_DEFAULTS',
      'RATE_LIMIT_DEFAULTS',
      'apiKeyAuthPlugin',
      'problemClientErrorHandler',
      'problemErrorsPlugin',
      'problemFrameworkErrors',
      'rateLimitPlugin',
      'securityHeadersPlugin',
      'useTypeBox',
    ]);
    expect(Object.keys(await import('./redis.ts')).sort()).toEqual([
      'RATE_LIMIT_REDIS_DEFAULTS',
      'createRateLimitRedis',
    ]);
  });

  it('loads neither Fastify nor a driver when the core entry is imported', async () => {
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    const script = `await import(${JSON.stringify(new URL('./index.ts', import.meta.url).href)});
      const { createRequire } = await import('node:module');
      const loaded = Object.keys(createRequire(import.meta.url).cache);
      console.log(JSON.stringify(loaded.filter((path) => /node_modules\\/(fastify|ioredis|pg|@electric-sql)\\//.test(path))));`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script]);
    expect(JSON.parse(stdout)).toEqual([]);
  });
});
