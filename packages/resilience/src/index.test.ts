import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERRORS, errorCodes, ResilienceError } from './errors.ts';

describe('public surface', () => {
  it('pins the names exported by the main entry', async () => {
    expect(Object.keys(await import('./index.ts')).sort()).toEqual(
      [
        'ERRORS',
        'HTTP_CLIENT_DEFAULTS',
        'createHttpClient',
        'HEALTH_DEFAULTS',
        'POLICY_DEFAULTS',
        'RETRY_BUDGET_DEFAULTS',
        'ResilienceError',
        'SHUTDOWN_DEFAULTS',
        'createHealth',
        'createJitterBackoff',
        'createPolicy',
        'createRetryBudget',
        'createShutdown',
        'errorCodes',
        'fullJitterDelay',
        'isResilienceError',
        'isTransient',
        'parseRetryAfter',
        'pgCheck',
        'redisCheck',
      ].sort(),
    );
  });

  it('pins the names exported by the fastify entry', async () => {
    expect(Object.keys(await import('./fastify.ts')).sort()).toEqual([
      'LOAD_SHEDDING_DEFAULTS',
      'clientGone',
      'resiliencePlugin',
    ]);
  });

  it('lists in package.json exports every entry, each with types and default in dist', () => {
    const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    expect(manifest.exports).toEqual({
      '.': { types: './dist/index.d.ts', default: './dist/index.js' },
      './fastify': { types: './dist/fastify.d.ts', default: './dist/fastify.js' },
    });
  });

  it('loads undici at the first request, not when the main entry is imported or a client is made', async () => {
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    // A service imports this entry at start for its health and shutdown: undici is 0.2 s of CPU there.
    const script = `const { createHttpClient, createPolicy } = await import(${JSON.stringify(new URL('./index.ts', import.meta.url).href)});
      const { createRequire } = await import('node:module');
      const undici = () => Object.keys(createRequire(import.meta.url).cache).filter((path) => /node_modules\\/undici\\//.test(path)).length;
      const client = createHttpClient({ baseUrl: 'http://127.0.0.1:9', policy: createPolicy({ name: 'x', retry: false }) });
      const before = undici();
      await client.request({ path: '/' }).catch(() => {});
      const after = undici();
      await client.close();
      console.log(JSON.stringify({ before, after: after > 0 }));`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script]);
    expect(JSON.parse(stdout)).toEqual({ before: 0, after: true });
  });
});

describe('errors', () => {
  it('matches the README errors table, code for code and status for status', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Errors'));
    // Cells are trimmed: the formatter pads table columns.
    const rows = section
      .split('\n')
      .map((line) => line.split('|').map((cell) => cell.trim()))
      .filter((cells) => /^`RAMPART_[A-Z_]+`$/.test(cells[1] ?? ''))
      .map((cells) => [cells[1]?.replaceAll('`', ''), Number(cells[2])]);
    expect(rows).toEqual(errorCodes.map((code) => [code, ERRORS[code].status]));
  });

  it('carries the status a service answers with as statusCode, as every Rampart error does', () => {
    for (const code of errorCodes) expect(new ResilienceError(code).statusCode).toBe(ERRORS[code].status);
    expect(new ResilienceError('RAMPART_RESILIENCE_CIRCUIT_OPEN').statusCode).toBe(503);
  });

  it('never reuses a code and keeps every code in the package namespace', () => {
    expect(new Set(errorCodes).size).toBe(errorCodes.length);
    for (const code of errorCodes) expect(code).toMatch(/^RAMPART_RESILIENCE_[A-Z_]+$/);
  });
});
