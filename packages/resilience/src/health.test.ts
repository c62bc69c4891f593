import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { createHealth, pgCheck, redisCheck } from './health.ts';

const base = { version: '1.2.3', commit: 'abc123' };

describe('createHealth', () => {
  it('answers liveness without running any check', () => {
    let ran = 0;
    const health = createHealth({
      ...base,
      checks: [{ name: 'db', check: async () => void ran++ }],
    });
    expect(health.live()).toEqual({
      statusCode: 200,
      body: { status: 'ok', version: '1.2.3', commit: 'abc123' },
    });
    expect(ran).toBe(0);
  });

  it('is ready when every check passes, and reports breaker states', async () => {
    const health = createHealth({
      ...base,
      checks: [
        pgCheck('db', { query: async () => ({ rows: [] }) }),
        redisCheck('redis', { ping: async () => 'PONG' }),
      ],
      policies: [{ name: 'payments', breakerState: 'open' }],
    });
    const report = await health.ready();
    expect(report.statusCode).toBe(200);
    expect(report.body).toMatchObject({
      status: 'ready',
      version: '1.2.3',
      commit: 'abc123',
      checks: { db: { status: 'ok' }, redis: { status: 'ok' } },
      breakers: { payments: 'open' },
    });
  });

  it('gives each check its own timeout, even one that ignores its signal', async () => {
    let aborted = false;
    const health = createHealth({
      ...base,
      defaultTimeoutMs: 5_000,
      checks: [
        {
          name: 'stuck',
          timeoutMs: 30,
          check: (signal) => {
            signal.addEventListener('abort', () => {
              aborted = true;
            });
            return new Promise(() => {});
          },
        },
        { name: 'fast', check: async () => {} },
      ],
    });
    const started = performance.now();
    const report = await health.ready();
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(aborted).toBe(true);
    expect(report.statusCode).toBe(503);
    expect(report.body.status).toBe('not-ready');
    expect(report.body.checks.stuck).toMatchObject({
      status: 'fail',
      code: 'RAMPART_RESILIENCE_CHECK_TIMEOUT',
    });
    expect(report.body.checks.fast).toMatchObject({ status: 'ok' });
  });

  it('reports a failed check by code only, never by message', async () => {
    const health = createHealth({
      ...base,
      checks: [
        {
          name: 'db',
          check: async () => {
            throw Object.assign(new Error('password authentication failed for user "admin"'), {
              code: 'ECONNREFUSED',
            });
          },
        },
      ],
    });
    const report = await health.ready();
    expect(report.body.checks.db).toMatchObject({
      status: 'fail',
      code: 'RAMPART_RESILIENCE_CHECK_FAILED',
      reason: 'ECONNREFUSED',
    });
    expect(JSON.stringify(report)).not.toContain('password');
  });

  it('reports a failing check marked critical: false without making readiness 503', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' });
    const health = createHealth({
      ...base,
      checks: [
        pgCheck('db', { query: async () => ({ rows: [] }) }),
        { ...redisCheck('redis', { ping: () => Promise.reject(refused) }), critical: false },
      ],
    });
    const report = await health.ready();
    expect(report.statusCode).toBe(200);
    expect(report.body.status).toBe('ready');
    expect(report.body.checks).toEqual({
      db: { status: 'ok', durationMs: expect.any(Number) },
      redis: {
        status: 'fail',
        durationMs: expect.any(Number),
        code: 'RAMPART_RESILIENCE_CHECK_FAILED',
        reason: 'ECONNREFUSED',
        critical: false,
      },
    });
    // The same failure on a critical check (the default, or critical: true) is a 503.
    for (const critical of [undefined, true]) {
      const gated = createHealth({
        ...base,
        checks: [{ ...redisCheck('redis', { ping: () => Promise.reject(refused) }), critical }],
      });
      expect((await gated.ready()).statusCode).toBe(503);
    }
    expect(() =>
      createHealth({ ...base, checks: [{ name: 'x', check: async () => {}, critical: 'no' as never }] }),
    ).toThrow(expect.objectContaining({ code: 'RAMPART_RESILIENCE_INVALID_OPTIONS' }));
  });

  it('answers 503 shutting-down without running checks once shutdown began', async () => {
    let shuttingDown = false;
    let ran = 0;
    const health = createHealth({
      ...base,
      checks: [{ name: 'db', check: async () => void ran++ }],
      isShuttingDown: () => shuttingDown,
    });
    expect((await health.ready()).statusCode).toBe(200);
    shuttingDown = true;
    const report = await health.ready();
    expect(report.statusCode).toBe(503);
    expect(report.body.status).toBe('shutting-down');
    expect(ran).toBe(1);
  });

  it('shares one run between concurrent readiness probes', async () => {
    let ran = 0;
    const health = createHealth({
      ...base,
      checks: [
        { name: 'db', check: () => new Promise((resolve) => setTimeout(() => resolve(void ran++), 10)) },
      ],
    });
    await Promise.all([health.ready(), health.ready(), health.ready()]);
    expect(ran).toBe(1);
  });

  it.each([
    [{ ...base, defaultTimeoutMs: 0 }],
    [
      {
        ...base,
        checks: [
          { name: 'a', check: async () => {} },
          { name: 'a', check: async () => {} },
        ],
      },
    ],
    [{ ...base, checks: [{ name: 'a', timeoutMs: -1, check: async () => {} }] }],
    [{ version: 1, commit: 'x' }],
  ])('rejects invalid options with a coded error', (options) => {
    expect(() => createHealth(options as never)).toThrow(
      expect.objectContaining({ code: 'RAMPART_RESILIENCE_INVALID_OPTIONS' }),
    );
  });

  it.each([
    ['no options at all', undefined],
    ['checks not an array', { ...base, checks: {} }],
    ['a null check', { ...base, checks: [null] }],
    ['policies not an array', { ...base, policies: {} }],
    ['isShuttingDown not a function', { ...base, isShuttingDown: true }],
    ['defaultTimeoutMs above 2^31-1 ms', { ...base, defaultTimeoutMs: 2 ** 31 }],
    [
      'a check timeoutMs above 2^31-1 ms',
      { ...base, checks: [{ name: 'db', timeoutMs: 2 ** 31, check: async () => {} }] },
    ],
    [
      'a check timeoutMs that is not a number',
      { ...base, checks: [{ name: 'db', timeoutMs: '500', check: async () => {} }] },
    ],
  ])('rejects %s at create time with a named error, not a TypeError later', (_label, options) => {
    expect(() => createHealth(options as never)).toThrow(
      expect.objectContaining({ code: 'RAMPART_RESILIENCE_INVALID_OPTIONS' }),
    );
  });

  it.each([
    ['pgCheck without a client', () => pgCheck('db', undefined as never)],
    ['pgCheck with a timeout above 2^31-1 ms', () => pgCheck('db', { query: async () => ({}) }, 2 ** 31)],
    ['redisCheck without a name', () => redisCheck('', { ping: async () => 'PONG' })],
    ['redisCheck with a client that cannot ping', () => redisCheck('redis', {} as never)],
  ])('rejects %s with a named error', (_label, build) => {
    expect(build).toThrow(expect.objectContaining({ code: 'RAMPART_RESILIENCE_INVALID_OPTIONS' }));
  });

  it('treats an option set to undefined as not given', async () => {
    const health = createHealth({
      ...base,
      defaultTimeoutMs: undefined,
      checks: [{ name: 'db', timeoutMs: undefined, check: async () => {} }],
      policies: undefined,
      isShuttingDown: undefined,
    });
    expect((await health.ready()).statusCode).toBe(200);
  });

  it('reports a hanging check as timed out in a one-shot process that has nothing else keeping it alive', async () => {
    // A container health-check CLI: it awaits ready() and exits. With its timer unref()'d the process used to
    // end at the unsettled await (exit 13) instead of reporting CHECK_TIMEOUT.
    const script = `const { createHealth } = await import(${JSON.stringify(new URL('./health.ts', import.meta.url).href)});
      const health = createHealth({ version: '1', commit: 'c', checks: [{ name: 'db', timeoutMs: 50, check: () => new Promise(() => {}) }] });
      const report = await health.ready();
      console.log(JSON.stringify({ statusCode: report.statusCode, code: report.body.checks.db.code }));`;
    const outcome = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      execFile(process.execPath, ['--input-type=module', '-e', script], (error, stdout) => {
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout });
      });
    });
    expect(outcome.code).toBe(0);
    expect(JSON.parse(outcome.stdout)).toEqual({ statusCode: 503, code: 'RAMPART_RESILIENCE_CHECK_TIMEOUT' });
  });
});
