import { describe, expect, it } from 'vitest';
import { SecurityError } from './errors.ts';
import { toProblem } from './problem.ts';
import { negotiateLanguage } from './titles.ts';

describe('toProblem', () => {
  it('keeps our client errors with their code and catalog text', () => {
    const problem = toProblem(new SecurityError('RAMPART_SECURITY_SCOPE_MISSING', { detail: 'needs admin' }));
    expect(problem).toMatchObject({ status: 403, language: 'en' });
    expect(problem.body).toEqual({
      type: 'urn:rampart:problem:security_scope_missing',
      title: 'Insufficient scope',
      status: 403,
      detail: 'the API key lacks a required scope',
      code: 'RAMPART_SECURITY_SCOPE_MISSING',
    });
  });

  it('hides every server-side failure behind RAMPART_SECURITY_INTERNAL, whatever it says', () => {
    for (const error of [
      new Error('connect ECONNREFUSED 10.0.0.5:5432'),
      Object.assign(new Error('duplicate key value violates unique constraint "users_email"'), {
        code: '23505',
      }),
      new SecurityError('RAMPART_SECURITY_CIPHERTEXT_INVALID'),
      { statusCode: 502, message: 'upstream' },
      'a string',
      null,
      undefined,
    ]) {
      const { body, status } = toProblem(error);
      expect(status).toBe(500);
      expect(body.code).toBe('RAMPART_SECURITY_INTERNAL');
      expect(body.detail).toBe('internal server error');
    }
  });

  it("keeps another package's dependency failure (502/503/504) with its code, never its text", () => {
    const open = Object.assign(new Error('the circuit breaker is open: inventory at 10.0.0.7'), {
      code: 'RAMPART_RESILIENCE_CIRCUIT_OPEN',
      statusCode: 503,
    });
    const { body, status } = toProblem(open);
    expect(status).toBe(503);
    expect(body).toMatchObject({
      code: 'RAMPART_RESILIENCE_CIRCUIT_OPEN',
      title: 'Service unavailable',
      detail: 'a dependency is unavailable; retry later',
    });
    expect(JSON.stringify(body)).not.toContain('10.0.0.7');
    const timeout = toProblem(
      { code: 'RAMPART_RESILIENCE_TIMEOUT', statusCode: 504 },
      { acceptLanguage: 'fr' },
    );
    expect(timeout.body).toMatchObject({ status: 504, title: 'Délai de passerelle dépassé' });
    // A Rampart code with any other 5xx is still internal.
    expect(toProblem({ code: 'RAMPART_RESILIENCE_INVALID_OPTIONS', statusCode: 500 }).body.code).toBe(
      'RAMPART_SECURITY_INTERNAL',
    );
  });

  // Found by tooling/reliability: with PostgreSQL down every request answered 500, because drizzle wraps the
  // pool's RAMPART_DB_UNREACHABLE in an error of its own with no status.
  it('finds a dependency failure in the cause chain of a wrapper without a status', () => {
    const unreachable = Object.assign(new Error('cannot reach postgres://u@10.0.0.5/db'), {
      code: 'RAMPART_DB_UNREACHABLE',
      statusCode: 503,
    });
    const wrapped = new Error('Failed query: select "secret" from "t"', { cause: unreachable });
    const { body, status } = toProblem(wrapped);
    expect(status).toBe(503);
    expect(body).toMatchObject({
      code: 'RAMPART_DB_UNREACHABLE',
      detail: 'a dependency is unavailable; retry later',
    });
    expect(JSON.stringify(body)).not.toMatch(/10\.0\.0\.5|secret/);
    // A cause that is internal, or a driver error, stays internal.
    const internal = new Error('x', {
      cause: Object.assign(new Error('y'), { code: 'RAMPART_DB_CLOSED', statusCode: 500 }),
    });
    expect(toProblem(internal).status).toBe(500);
    expect(toProblem(new Error('x', { cause: new Error('connect ECONNREFUSED') })).status).toBe(500);
  });

  it('keeps the 503 of an unavailable rate-limit store', () => {
    expect(toProblem(new SecurityError('RAMPART_SECURITY_RATE_LIMIT_UNAVAILABLE')).status).toBe(503);
  });

  it("passes another package's coded client error through with a generic detail", () => {
    const error = Object.assign(new Error('row 42 of table secrets missing'), {
      code: 'RAMPART_DB_NOT_FOUND',
      statusCode: 404,
    });
    const { body } = toProblem(error, { acceptLanguage: 'de' });
    expect(body).toMatchObject({ code: 'RAMPART_DB_NOT_FOUND', status: 404, title: 'Nicht gefunden' });
    expect(JSON.stringify(body)).not.toContain('secrets');
  });

  it('maps unknown 4xx framework errors to RAMPART_SECURITY_REQUEST_INVALID with their status', () => {
    const { body } = toProblem({ code: 'FST_ERR_SOMETHING', statusCode: 431, message: 'x' });
    expect(body).toMatchObject({ code: 'RAMPART_SECURITY_REQUEST_INVALID', status: 431 });
  });

  it('looks codes up as own properties only, and a throwing getter is a generic 500', () => {
    for (const code of ['toString', 'constructor', '__proto__', 'hasOwnProperty']) {
      const { status, body } = toProblem(Object.assign(new Error('password=hunter2'), { code }));
      expect(status, code).toBe(500);
      expect(body).toMatchObject({ code: 'RAMPART_SECURITY_INTERNAL', title: 'Internal server error' });
    }
    const error = new Error('x');
    Object.defineProperty(error, 'statusCode', {
      get() {
        throw new Error('boom');
      },
    });
    expect(toProblem(error).body).toMatchObject({ status: 500, code: 'RAMPART_SECURITY_INTERNAL' });
    const proxy = new Proxy(
      {},
      {
        get() {
          throw new Error('boom');
        },
      },
    );
    expect(toProblem(proxy).status).toBe(500);
  });

  it('gives a plain 404 or 409 a detail that fits its status', () => {
    expect(toProblem({ statusCode: 404, message: 'tenant acme' }).body).toMatchObject({
      status: 404,
      code: 'RAMPART_SECURITY_REQUEST_INVALID',
      detail: 'the requested resource was not found',
    });
    expect(toProblem({ statusCode: 409 }).body.detail).toBe(
      'the request conflicts with the current state of the resource',
    );
    expect(toProblem({ statusCode: 400 }).body.detail).toBe('the request is malformed');
    expect(toProblem({ statusCode: 499 }).body.detail).toBe('the request was rejected');
  });

  it('caps validation detail and never echoes rejected values', () => {
    const validation = Array.from({ length: 50 }, (_, index) => ({
      instancePath: `/items/${index}`,
      message: 'must be integer',
      data: 'SECRET-VALUE',
    }));
    const { body } = toProblem({ validation, validationContext: 'body', statusCode: 400 });
    expect(body.errors).toHaveLength(20);
    expect(JSON.stringify(body)).not.toContain('SECRET-VALUE');
  });
});

describe('negotiateLanguage', () => {
  it.each([
    [undefined, 'en'],
    ['', 'en'],
    ['de', 'de'],
    ['fr-CA;q=0.4, es;q=0.9', 'es'],
    ['xx, fr;q=0.1', 'fr'],
    ['de;q=0', 'en'],
    ['x'.repeat(1000), 'en'],
  ])('%s -> %s', (header, language) => {
    expect(negotiateLanguage(header)).toBe(language);
  });
});
