import { isUtf8 } from 'node:buffer';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type {
  FastifyError,
  FastifyInstance,
  FastifyPluginCallback,
  FastifyReply,
  FastifyRequest,
  HTTPMethods,
} from 'fastify';
import fp from 'fastify-plugin';
import { SecurityError, type SecurityErrorCode } from '../errors.ts';
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

// A string or property name PostgreSQL cannot store (U+0000 in text or jsonb) or can store only altered (an
// unpaired surrogate becomes U+FFFD): either would fail as a 500 in the database or lose the client's text.
function hasUnstorableText(root: unknown): boolean {
  const stack = [root];
  while (stack.length > 0) {
    const value = stack.pop();
    if (typeof value === 'string') {
      if (value.includes('\0') || !value.isWellFormed()) return true;
    } else if (typeof value === 'object' && value !== null) {
      for (const [key, child] of Object.entries(value)) {
        if (key.includes('\0') || !key.isWellFormed()) return true;
        stack.push(child);
      }
    }
  }
  return false;
}

/** How deep objects and arrays may nest in a body: JSON.stringify of about 4 500 levels overflows the stack. */
export const MAX_BODY_DEPTH = 256;
/** Text that holds a value `MAX_BODY_DEPTH + 1` levels deep is at least this long (`[` and `]` per level). */
const DEEP_ENOUGH = 2 * (MAX_BODY_DEPTH + 1);
/** A numeric literal that can overflow a double: a three-digit exponent, or 309 digits and more. */
const LARGE_EXPONENT = /[eE]\+?\d{3}/;
const LONG_DIGITS = /\d{309}/;

type ShapeProblem = 'RAMPART_SECURITY_BODY_TOO_DEEP' | 'RAMPART_SECURITY_BODY_NUMBER_INVALID';

/**
 * The first reason to refuse a parsed object or array on its shape: nested deeper than MAX_BODY_DEPTH (it
 * would fail later as a 500, wherever it is next serialised), or a number JSON.parse made Infinity (1e400),
 * which would be stored or echoed as something the client did not send. Recursive, a call per object or
 * array and at most MAX_BODY_DEPTH deep: an explicit stack of values cost four times as much.
 */
function shapeProblem(value: object, depth: number): ShapeProblem | undefined {
  if (depth > MAX_BODY_DEPTH) return 'RAMPART_SECURITY_BODY_TOO_DEEP';
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index += 1) {
      const child: unknown = value[index];
      if (typeof child === 'object') {
        if (child === null) continue;
        const problem = shapeProblem(child, depth + 1);
        if (problem !== undefined) return problem;
      } else if (typeof child === 'number' && child - child !== 0) {
        return 'RAMPART_SECURITY_BODY_NUMBER_INVALID';
      }
    }
    return undefined;
  }
  for (const key in value) {
    const child: unknown = (value as Record<string, unknown>)[key];
    if (typeof child === 'object') {
      if (child === null) continue;
      const problem = shapeProblem(child, depth + 1);
      if (problem !== undefined) return problem;
    } else if (typeof child === 'number' && child - child !== 0) {
      // Infinity - Infinity is NaN: not finite (JSON.parse makes no NaN).
      return 'RAMPART_SECURITY_BODY_NUMBER_INVALID';
    }
  }
  return undefined;
}

/** JSON is UTF-8 (RFC 8259 §8.1): a `charset` parameter may only say so. */
function declaresOtherCharset(contentType: string | undefined): boolean {
  const charset = /;\s*charset\s*=\s*"?([^";\s]*)/i.exec(contentType ?? '')?.[1]?.toLowerCase();
  return charset !== undefined && charset !== 'utf-8' && charset !== 'utf8';
}

/** A Content-Encoding other than identity: the body would reach the JSON parser still compressed. */
function hasContentCoding(header: string | undefined): boolean {
  if (header === undefined) return false;
  return header.split(',').some((coding) => {
    const name = coding.trim().toLowerCase();
    return name !== '' && name !== 'identity';
  });
}

/**
 * The methods other routes accept at this request's path, for a 405 and its Allow header (RFC 9110 §15.5.6).
 * Empty when the request's own method matches a route (a handler called `reply.callNotFound()`: a real 404)
 * or when no route matches the path at all.
 */
function allowedMethods(app: FastifyInstance, request: FastifyRequest): string[] {
  const url = request.raw.url ?? request.url;
  if (app.findRoute({ method: request.method as HTTPMethods, url }) !== null) return [];
  return app.supportedMethods.filter(
    (method) => method !== request.method && app.findRoute({ method, url }) !== null,
  );
}

/** How many Host field lines a request carried: Node keeps the first in `headers` and drops the others. */
function hostLines(rawHeaders: readonly string[]): number {
  let count = 0;
  for (let index = 0; index < rawHeaders.length; index += 2) {
    const name = rawHeaders[index]!;
    // The usual spellings first: toLowerCase() makes a string each time.
    if (name.length === 4 && (name === 'Host' || name === 'host' || name.toLowerCase() === 'host'))
      count += 1;
  }
  return count;
}

/**
 * RFC 9112 §3.2: 400 for an HTTP/1.1 request without Host, or any request with more than one. Node answers
 * the first itself, a bare 400, unless the server is made with `http: { requireHostHeader: false }`; the
 * second it lets through with the first Host, which a proxy in front may have read differently. HTTP/1.0 may
 * leave Host out (and HTTP/2 sends :authority instead). The connection closes, as after Node's own 400.
 */
function checkHost(request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void): void {
  const raw = request.raw;
  let code: SecurityErrorCode | undefined;
  if (raw.headers.host === undefined) {
    if (raw.httpVersion === '1.1') code = 'RAMPART_SECURITY_HOST_MISSING';
  } else if (hostLines(raw.rawHeaders) > 1) code = 'RAMPART_SECURITY_HOST_DUPLICATED';
  if (code === undefined) {
    done();
    return;
  }
  reply.header('connection', 'close');
  done(new SecurityError(code));
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
    .header('content-language', problem.language)
    // An error is about one request: never cached, whatever Cache-Control the route had set for its success.
    .header('cache-control', 'no-store');
  if (problem.status === 503 && !reply.hasHeader('retry-after')) reply.header('retry-after', '1');
  // RFC 9110 §15.5.16: a 415 for a content coding says which codings would have been accepted.
  if (problem.body.code === 'RAMPART_SECURITY_CONTENT_ENCODING_UNSUPPORTED') {
    reply.header('accept-encoding', 'identity');
  }
  return reply.send(JSON.stringify(problem.body));
}

const plugin: FastifyPluginCallback<ProblemErrorsOptions> = (app, options, done) => {
  const { typeBase, jsonOnly = true } = options;
  if ((typeBase !== undefined && typeof typeBase !== 'string') || typeof jsonOnly !== 'boolean') {
    // Reported through done: thrown here it would be an uncaught exception, not a rejected ready().
    done(
      new SecurityError('RAMPART_SECURITY_OPTIONS_INVALID', {
        detail: 'typeBase must be a string and jsonOnly true or false',
      }),
    );
    return;
  }
  app.addHook('onRequest', checkHost);
  app.setErrorHandler((error: FastifyError, request, reply) => sendProblem(error, request, reply, typeBase));
  app.setNotFoundHandler((request, reply) => {
    const allowed = allowedMethods(app, request);
    if (allowed.length === 0) {
      return sendProblem(new SecurityError('RAMPART_SECURITY_NOT_FOUND'), request, reply, typeBase);
    }
    reply.header('allow', allowed.join(', '));
    return sendProblem(new SecurityError('RAMPART_SECURITY_METHOD_NOT_ALLOWED'), request, reply, typeBase);
  });
  app.removeContentTypeParser('application/json');
  if (jsonOnly) app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, next) => {
    // Nothing here decodes gzip or br: a compressed body would be refused as malformed JSON, or worse, parsed.
    if (hasContentCoding(request.headers['content-encoding'])) {
      next(new SecurityError('RAMPART_SECURITY_CONTENT_ENCODING_UNSUPPORTED'), undefined);
      return;
    }
    if (declaresOtherCharset(request.headers['content-type'])) {
      next(
        new SecurityError('RAMPART_SECURITY_MEDIA_TYPE_UNSUPPORTED', { detail: 'JSON is UTF-8' }),
        undefined,
      );
      return;
    }
    const bytes = body as Buffer;
    // Decoding invalid UTF-8 would put U+FFFD in place of the client's bytes and store that: refuse instead.
    if (!isUtf8(bytes)) {
      next(new SecurityError('RAMPART_SECURITY_BODY_MALFORMED', { detail: 'not UTF-8' }), undefined);
      return;
    }
    const text = bytes.toString('utf8');
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      next(new SecurityError('RAMPART_SECURITY_BODY_MALFORMED', { cause: error }), undefined);
      return;
    }
    // Only a body long enough to nest that deep, or a shorter one with a literal that can overflow, is walked:
    // a small body costs one regular-expression test, a larger one the walk alone.
    if (
      text.length >= DEEP_ENOUGH ||
      LARGE_EXPONENT.test(text) ||
      (text.length >= 309 && LONG_DIGITS.test(text))
    ) {
      const problem =
        typeof value === 'object' && value !== null
          ? shapeProblem(value, 1)
          : typeof value === 'number' && !Number.isFinite(value)
            ? 'RAMPART_SECURITY_BODY_NUMBER_INVALID'
            : undefined;
      if (problem !== undefined) {
        next(new SecurityError(problem), undefined);
        return;
      }
    }
    // Cheap text test first: only bodies that could spell the keys (plainly or \u-escaped) get walked.
    if (/__proto__|constructor|\\u/.test(text) && isPoisoned(value)) {
      next(new SecurityError('RAMPART_SECURITY_PROTOTYPE_POISONING'), undefined);
      return;
    }
    // U+0000 and lone surrogates can only be written as \u escapes in valid UTF-8 JSON.
    if (text.includes('\\u') && hasUnstorableText(value)) {
      next(new SecurityError('RAMPART_SECURITY_BODY_TEXT_INVALID'), undefined);
      return;
    }
    next(null, value);
  });
  // Node answers an Expect other than 100-continue itself (a bare 417) unless someone listens for it.
  if (app.server.listenerCount('checkExpectation') === 0) {
    const headers = securityHeaders();
    app.server.on('checkExpectation', (request: IncomingMessage, response: ServerResponse) => {
      const problem = toProblem(new SecurityError('RAMPART_SECURITY_EXPECTATION_FAILED'), {
        acceptLanguage: request.headers['accept-language'],
        ...(typeBase ? { typeBase } : {}),
      });
      const body = JSON.stringify(problem.body);
      response.writeHead(problem.status, {
        ...headers,
        'content-type': PROBLEM_CONTENT_TYPE,
        'content-language': problem.language,
        'content-length': Buffer.byteLength(body),
        // The client may send its body anyway; it must not be read as the next request.
        connection: 'close',
      });
      response.end(body);
    });
  }
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
 * a path, malformed headers) get a 400 problem+json with the security headers, headers over Node's size limit
 * a 431, and a request that did not arrive within `requestTimeout` / `headersTimeout` a 408 (Node's own
 * statuses for these, with our body); then the socket closes.
 */
export function problemClientErrorHandler(options: ProblemErrorsOptions = {}) {
  const headers = securityHeaders();
  const raw = (code: SecurityErrorCode, reason: string) => {
    const problem = toProblem(new SecurityError(code), {
      ...(options.typeBase ? { typeBase: options.typeBase } : {}),
    });
    const body = JSON.stringify(problem.body);
    const head = Object.entries({
      ...headers,
      'content-type': PROBLEM_CONTENT_TYPE,
      'content-language': problem.language,
      'content-length': String(Buffer.byteLength(body)),
      connection: 'close',
    })
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('');
    return `HTTP/1.1 ${problem.status} ${reason}\r\n${head}\r\n${body}`;
  };
  const malformed = raw('RAMPART_SECURITY_REQUEST_INVALID', 'Bad Request');
  const timedOut = raw('RAMPART_SECURITY_REQUEST_TIMEOUT', 'Request Timeout');
  const tooLarge = raw('RAMPART_SECURITY_HEADERS_TOO_LARGE', 'Request Header Fields Too Large');
  return (error: Error, socket: Socket) => {
    const code = (error as { code?: unknown }).code;
    const response =
      code === 'ERR_HTTP_REQUEST_TIMEOUT' ? timedOut : code === 'HPE_HEADER_OVERFLOW' ? tooLarge : malformed;
    if (socket.writable) socket.end(response);
    else socket.destroy();
  };
}
