import type { Socket } from 'node:net';
import type { FastifyError, FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { SecurityError } from '../errors.ts';
import { securityHeaders } from '../headers.ts';
import { PROBLEM_CONTENT_TYPE, toProblem } from '../problem.ts';

export interface ProblemErrorsOptions {
  /** Prefix of each problem's `type` URI. Default `urn:rampart:problem:`. */
  typeBase?: string;
  /** Accept only JSON bodies (drop Fastify's text/plain parser), so no body skips schema validation. Default true. */
  jsonOnly?: boolean;
}

// Walks a parsed body for the two shapes that poison prototypes once merged into another object.
function isPoisoned(root: unknown): boolean {
  const stack = [root];
  while (stack.length > 0) {
    const value = stack.pop();
    if (typeof value !== 'object' || value === null) continue;
    if (Object.hasOwn(value, '__proto__')) return true;
    const ctor = (value as { constructor?: unknown }).constructor;
    if (
      Object.hasOwn(value, 'constructor') &&
      typeof ctor === 'object' &&
      ctor !== null &&
      Object.hasOwn(ctor, 'prototype')
    ) {
      return true;
    }
    for (const child of Object.values(value)) stack.push(child);
  }
  return false;
}

function sendProblem(
  error: unknown,
  request: FastifyRequest,
  reply: FastifyReply,
  typeBase: string | undefined,
) {
  const problem = toProblem(error, {
    acceptLanguage: request.headers['accept-language'],
    requestId: request.id,
    ...(typeBase ? { typeBase } : {}),
  });
  // The full error stays on the server; the client gets the catalog's words only.
  if (problem.status >= 500) request.log.error({ err: error, code: problem.body.code }, 'request failed');
  else request.log.info({ code: problem.body.code, status: problem.status }, 'request rejected');
  reply
    .code(problem.status)
    .header('content-type', PROBLEM_CONTENT_TYPE)
    .header('content-language', problem.language);
  if (problem.status === 503 && !reply.hasHeader('retry-after')) reply.header('retry-after', '1');
  return reply.send(JSON.stringify(problem.body));
}

const plugin: FastifyPluginCallback<ProblemErrorsOptions> = (app, options, done) => {
  const { typeBase, jsonOnly = true } = options;
  app.setErrorHandler((error: FastifyError, request, reply) => sendProblem(error, request, reply, typeBase));
  app.setNotFoundHandler((request, reply) =>
    sendProblem(new SecurityError('RAMPART_SECURITY_NOT_FOUND'), request, reply, typeBase),
  );
  app.removeContentTypeParser('application/json');
  if (jsonOnly) app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, next) => {
    const text = body as string;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      next(new SecurityError('RAMPART_SECURITY_BODY_MALFORMED', { cause: error }), undefined);
      return;
    }
    // Cheap text test first: only bodies that could spell the keys (plainly or \u-escaped) get walked.
    if (/__proto__|constructor|\\u/.test(text) && isPoisoned(value)) {
      next(new SecurityError('RAMPART_SECURITY_PROTOTYPE_POISONING'), undefined);
      return;
    }
    next(null, value);
  });
  done();
};

/** Every error, 404 and malformed body leaves as RFC 9457 problem+json with a stable code and no internals. */
export const problemErrorsPlugin = fp(plugin, { fastify: '5.x', name: '@rampart/security/errors' });

/**
 * For Fastify's `frameworkErrors` option (bad URL encodings, over-long params), which fire before any plugin
 * hook: answers with problem+json and the security headers instead of Fastify's default JSON echoing the path.
 */
export function problemFrameworkErrors(options: ProblemErrorsOptions = {}) {
  const headers = securityHeaders();
  return (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    reply.headers(headers);
    return sendProblem(
      new SecurityError('RAMPART_SECURITY_REQUEST_INVALID', { cause: error }),
      request,
      reply,
      options.typeBase,
    );
  };
}

/**
 * For Fastify's `clientErrorHandler` option: requests Node's HTTP parser rejects (a request target that is not
 * a path, malformed headers) get a 400 problem+json with the security headers, then the socket closes.
 */
export function problemClientErrorHandler(options: ProblemErrorsOptions = {}) {
  const problem = toProblem(new SecurityError('RAMPART_SECURITY_REQUEST_INVALID'), {
    ...(options.typeBase ? { typeBase: options.typeBase } : {}),
  });
  const body = JSON.stringify(problem.body);
  const head = Object.entries({
    ...securityHeaders(),
    'content-type': PROBLEM_CONTENT_TYPE,
    'content-language': problem.language,
    'content-length': String(Buffer.byteLength(body)),
    connection: 'close',
  })
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  const response = `HTTP/1.1 400 Bad Request\r\n${head}\r\n${body}`;
  return (_error: Error, socket: Socket) => {
    if (socket.writable) socket.end(response);
    else socket.destroy();
  };
}
