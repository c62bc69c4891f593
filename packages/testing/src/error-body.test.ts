import { SecurityError } from '@rampart/security';
import { problemErrorsPlugin } from '@rampart/security/fastify';
import Fastify, { type FastifyInstance, type InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createErrorBodyWatch, errorBodyProblems } from './error-body.ts';

const OPTIONS = {
  infrastructurePaths: ['/health/ready'],
  problemExtensions: [],
  secrets: ['rk_secret_canary'],
};

// Real answers from a real app: the security package's own problems, and bodies a careless handler sends.
let app: FastifyInstance;
beforeAll(async () => {
  app = Fastify({ logger: false });
  await app.register(problemErrorsPlugin);
  const raw = (status: number, body: unknown, type = 'application/problem+json') =>
    app.get(`/raw/${status}/${Object.keys(body as object).join('-') || 'empty'}`, async (_request, reply) =>
      reply.code(status).type(type).send(JSON.stringify(body)),
    );
  app.get('/coded', async () => {
    throw new SecurityError('RAMPART_SECURITY_SCOPE_MISSING');
  });
  app.get('/crash', async () => {
    throw new Error('connect ECONNREFUSED in /srv/app/dist/db/pool.js');
  });
  app.get('/leaky', async (_request, reply) => {
    const error = new Error('item 7 does not exist');
    return reply
      .code(404)
      .type('application/problem+json')
      .send({ status: 404, title: 'Error', code: 'RAMPART_X', detail: error.message, stack: error.stack });
  });
  raw(404, { status: 404, title: 'Not Found', code: 'RAMPART_X_NOT_FOUND', detail: 'arrived at 12:30:45' });
  raw(409, {
    status: 409,
    title: 'Conflict',
    code: 'RAMPART_X_TAKEN',
    message: 'duplicate key',
    sql: 'INSERT',
  });
  raw(400, {
    status: 400,
    title: 'Bad',
    code: 'RAMPART_X_BAD',
    detail: 'see /home/deploy/service/src/orders/routes.ts',
  });
  raw(401, {
    status: 401,
    title: 'Unauthorized',
    code: 'RAMPART_X_KEY',
    detail: 'rk_secret_canary is unknown',
  });
  raw(422, { status: 400, title: 'Unprocessable', code: 'invalid sku' });
  raw(418, { error: 'teapot' }, 'application/json');
  app.get('/health/ready', async (_request, reply) =>
    reply
      .code(503)
      .send({ status: 'not-ready', error: 'at Pool.connect (/srv/node_modules/pg/pool.js:45:11)' }),
  );
  await app.ready();
});
afterAll(() => app.close());

async function problemsOf(url: string, request: Partial<InjectOptions> = {}) {
  const options: InjectOptions = { method: 'GET', url, ...request };
  return errorBodyProblems(options, await app.inject(options), OPTIONS);
}

describe('errorBodyProblems, on real answers', () => {
  it("passes @rampart/security's own problems: coded, unknown path, wrong method, validation, internal", async () => {
    expect(await problemsOf('/coded')).toEqual([]);
    expect(await problemsOf('/nowhere')).toEqual([]);
    expect(await problemsOf('/coded', { method: 'DELETE' })).toEqual([]);
    // A 500 from a thrown driver error: the catalog's words only, so nothing of the message leaves.
    expect(await problemsOf('/crash')).toEqual([]);
    // A time of day is not a stack frame; a 2xx is never judged.
    expect(await problemsOf('/raw/404/status-title-code-detail')).toEqual([]);
  });

  it('finds a stack trace, its frames and paths, and the stack field', async () => {
    const problems = (await problemsOf('/leaky')).join('\n');
    expect(problems).toMatch(/a stack frame \("at .*error-body\.test\.ts:\d+:\d+\)?"\)/);
    expect(problems).toContain('internal field(s) "stack"');
    expect(problems).toMatch(/an absolute file path/);
    expect(problems).toContain(`the working directory ${process.cwd()}`);
  });

  it('finds internal fields, members outside the problem shape, file paths and echoed secrets', async () => {
    expect(await problemsOf('/raw/409/status-title-code-message-sql')).toEqual([
      'internal field(s) "sql"',
      'unexpected member(s) "message" (allow extensions with problemExtensions)',
    ]);
    expect(await problemsOf('/raw/400/status-title-code-detail')).toEqual([
      'an absolute file path ("/home/deploy/service/src/orders/routes.ts")',
    ]);
    expect(await problemsOf('/raw/401/status-title-code-detail')).toEqual(['the secret it was sent']);
  });

  it('finds a body that is not a problem: wrong type, status, code', async () => {
    expect(await problemsOf('/raw/422/status-title-code')).toEqual([
      '"status" is 400, not 422',
      '"code" is "invalid sku", want a stable RAMPART_* code',
    ]);
    expect(await problemsOf('/raw/418/error')).toEqual([
      'content-type "application/json; charset=utf-8", want application/problem+json',
      '"status" is undefined, not 418',
      'no "title"',
      '"code" is undefined, want a stable RAMPART_* code',
      'unexpected member(s) "error" (allow extensions with problemExtensions)',
    ]);
  });

  it('reads an infrastructure path for leaks only: a health report is not a problem body', async () => {
    expect(await problemsOf('/health/ready')).toEqual([
      'a stack frame ("at Pool.connect (/srv/node_modules/pg/pool.js:45:11)")',
      'a node_modules path ("node_modules")',
      'an absolute file path ("(/srv/node_modules/pg/pool.js")',
    ]);
  });

  it('allows the extension members a service names', async () => {
    const options = { method: 'GET' as const, url: '/raw/409/status-title-code-message-sql' };
    const problems = errorBodyProblems(options, await app.inject(options), {
      ...OPTIONS,
      problemExtensions: ['message'],
    });
    expect(problems).toEqual(['internal field(s) "sql"']);
  });
});

describe('createErrorBodyWatch', () => {
  it('reports one failure per kind of fault, with its first example and how many shared it', async () => {
    const watch = createErrorBodyWatch(OPTIONS);
    for (const url of ['/leaky', '/leaky', '/coded', '/raw/418/error']) {
      const request: InjectOptions = { method: 'GET', url };
      watch.inspect(request, await app.inject(request));
    }
    expect(watch.inspected).toBe(4);
    const failures = watch.failures();
    expect(failures).toHaveLength(2);
    expect(failures[0]).toMatch(
      /^error-body: 404 to GET \/leaky: a stack frame .*\(and 1 more answer\(s\) like it\)$/,
    );
    expect(failures[1]).toMatch(/^error-body: 418 to GET \/raw\/418\/error: content-type/);
  });
});
