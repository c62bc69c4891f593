import type { Dispatcher } from 'undici';
import { parseRetryAfter } from './backoff.ts';
import { invalidOptions, isResilienceError, ResilienceError, requestInvalid } from './errors.ts';
import type { AttemptContext, Policy } from './policy.ts';
import { duration, integer, isRecord, isSignal, MAX_TIMER_MS, optionalFunction, shown } from './validate.ts';

export type Headers = Record<string, string>;

export interface HttpClientOptions {
  /** Origin and optional base path: `https://payments.internal/v2`. */
  baseUrl: string;
  policy: Policy;
  maxBodyBytes?: number;
  retryStatuses?: number[];
  maxRetryAfterMs?: number;
  headers?: Headers;
  /** Adds trace headers (`traceparent`, ...). Defaults to the global OpenTelemetry propagator when one is registered. */
  propagate?: (headers: Headers) => void;
  /** Header carrying the time this attempt has left, in ms; false sends none. */
  deadlineHeader?: string | false;
  dispatcher?: Dispatcher;
}

export type HttpBody =
  | string
  | Uint8Array
  | ArrayBuffer
  | ArrayBufferView
  | URLSearchParams
  | Record<string, unknown>
  | unknown[]
  | number
  | boolean
  | null;

export interface HttpRequest {
  method?: string;
  /** Appended to `baseUrl`; may carry a query string. */
  path: string;
  headers?: Headers;
  /**
   * A string is sent as is; bytes (Buffer, Uint8Array, any ArrayBuffer view, ArrayBuffer) as given, with
   * `application/octet-stream` unless a content type is set; URLSearchParams as a form; anything else as JSON.
   */
  body?: HttpBody;
  signal?: AbortSignal;
  deadlineMs?: number;
  /** Defaults to true for GET, HEAD, OPTIONS, PUT, DELETE and for any request with an Idempotency-Key header. */
  idempotent?: boolean;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  text(): string;
  json<T = unknown>(): T;
}

export interface HttpClient {
  request(request: HttpRequest): Promise<HttpResponse>;
  /** Closes the client's own connection pool (not a dispatcher you passed in). */
  close(): Promise<void>;
}

export const HTTP_CLIENT_DEFAULTS = {
  maxBodyBytes: 1024 * 1024,
  retryStatuses: [429, 502, 503, 504],
  maxRetryAfterMs: 30_000,
  deadlineHeader: 'x-request-deadline-ms',
} as const;

const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

interface OtelGlobal {
  propagation?: {
    inject(context: unknown, carrier: Headers, setter: { set(c: Headers, k: string, v: string): void }): void;
  };
  context?: { active(): unknown };
}

// The registry @opentelemetry/api 1.x keeps on globalThis. Read structurally so this package does not depend on
// the API (or on @rampart/observability): when nobody registered a propagator, nothing is injected.
function globalPropagate(headers: Headers): void {
  const api = (globalThis as Record<symbol, unknown>)[Symbol.for('opentelemetry.js.api.1')] as
    | OtelGlobal
    | undefined;
  const context = api?.context?.active();
  if (!api?.propagation || context === undefined) return;
  api.propagation.inject(context, headers, {
    set: (carrier, key, value) => {
      carrier[key] = value;
    },
  });
}

function flatten(headers: Record<string, string | string[] | undefined>): Record<string, string | undefined> {
  const flat: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(headers))
    flat[key] = Array.isArray(value) ? value.join(', ') : value;
  return flat;
}

/** At most this much of an upstream's failure body rides along in an UPSTREAM_STATUS error's `cause`. */
const UPSTREAM_BODY_IN_ERROR_BYTES = 4 * 1024;

function makeResponse(
  status: number,
  headers: Record<string, string | string[] | undefined>,
  body: Buffer,
): HttpResponse {
  return {
    status,
    headers,
    body,
    text() {
      return this.body.toString('utf8');
    },
    json<T>() {
      return JSON.parse(this.body.toString('utf8')) as T;
    },
  };
}

// RFC 9110 `token` (header names, methods) and field values (no CR, LF, NUL or other controls).
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const INVALID_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

/** Tab, CR and LF would be dropped from a path by the URL parser without a word; other controls are refused too. */
function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}
// Headers the client owns (framing and connection management): undici refuses or mishandles a caller's.
const OWNED_HEADERS = new Set([
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'expect',
]);

/**
 * Copies `source` into `into` under lower-case names (so a caller's `Content-Type` replaces a default rather
 * than going out beside it), refusing what undici would refuse. `fail` builds the error: INVALID_OPTIONS for
 * the client's own headers, REQUEST_INVALID for a request's. A header's value never appears in the message.
 */
function mergeHeaders(into: Headers, source: unknown, where: string, fail: (detail: string) => Error): void {
  if (source === undefined) return;
  // A plain object only: a Headers or Map instance has no own properties, and its headers would vanish.
  const prototype = isRecord(source) ? Object.getPrototypeOf(source) : undefined;
  if (!isRecord(source) || (prototype !== Object.prototype && prototype !== null))
    throw fail(`${where} must be a plain object of header names to strings`);
  for (const name in source) {
    if (!Object.hasOwn(source, name)) continue;
    const value = source[name];
    if (value === undefined) continue; // not given, like any other option
    if (!TOKEN.test(name)) throw fail(`${where}: a header name is not a valid HTTP token`);
    const lower = name.toLowerCase();
    if (OWNED_HEADERS.has(lower)) throw fail(`${where}: ${lower} is set by the client, not by the caller`);
    if (typeof value !== 'string')
      throw fail(`${where}: header ${lower} must be a string, got ${typeof value}`);
    if (INVALID_VALUE.test(value))
      throw fail(`${where}: header ${lower} has an invalid value (CR, LF or another control character)`);
    into[lower] = value;
  }
}

/** Turns a request body into what goes on the wire, once per call, adding the default content type. */
function encodeBody(body: unknown, headers: Headers): string | Uint8Array | undefined {
  if (body === undefined) return undefined;
  if (typeof body === 'string') return body;
  let bytes: Uint8Array | undefined;
  if (body instanceof Uint8Array) bytes = body;
  else if (body instanceof ArrayBuffer) bytes = new Uint8Array(body);
  else if (ArrayBuffer.isView(body)) bytes = new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  if (bytes) {
    headers['content-type'] ??= 'application/octet-stream';
    return bytes;
  }
  if (body instanceof URLSearchParams) {
    headers['content-type'] ??= 'application/x-www-form-urlencoded';
    return body.toString();
  }
  if (
    typeof body === 'function' ||
    typeof body === 'symbol' ||
    (typeof body === 'object' &&
      body !== null &&
      (body instanceof Map ||
        body instanceof Set ||
        body instanceof Blob ||
        body instanceof FormData ||
        typeof (body as { pipe?: unknown }).pipe === 'function' ||
        typeof (body as { getReader?: unknown }).getReader === 'function' ||
        Symbol.asyncIterator in body))
  )
    // A stream cannot be sent twice (retries), and JSON turns these into `{}` or nothing without a word.
    throw requestInvalid(
      'unsupported body type: send a string, bytes, URLSearchParams or a JSON-serialisable value',
    );
  let json: string | undefined;
  try {
    json = JSON.stringify(body);
  } catch (error) {
    throw requestInvalid('the body cannot be serialised as JSON (a BigInt or a cycle?)', error);
  }
  if (json === undefined) throw requestInvalid('the body serialises to nothing as JSON');
  headers['content-type'] ??= 'application/json';
  return json;
}

/**
 * Refuses a path whose `.` or `..` segment (raw, or %2e-encoded) the URL parser would resolve, taking the
 * request out of the base path: `/receipts/${id}` with a user's `../../other-tenant/...` as the id.
 */
function checkPathname(pathname: string): void {
  if (!pathname.includes('.') && !pathname.includes('\\') && !/%2e/i.test(pathname)) return;
  // Backslashes separate segments in http(s) URLs too.
  for (const segment of pathname.split(/[/\\]/)) {
    const plain = segment.length <= 6 ? segment.replace(/%2e/gi, '.') : segment;
    if (plain === '.' || plain === '..')
      throw requestInvalid('the path has a "." or ".." segment, which would leave the base path');
  }
}

let undici: Promise<typeof import('undici')> | undefined;
const loadUndici = () => {
  undici ??= import('undici');
  return undici;
};

interface PreparedRequest {
  method: string;
  url: URL;
  headers: Headers;
  body: string | Uint8Array | undefined;
  /** The request itself (not the client's default headers) carries an Idempotency-Key. */
  keyed: boolean;
}

function hasIdempotencyKey(headers: Headers | undefined): boolean {
  if (headers === undefined) return false;
  for (const name in headers)
    if (headers[name] !== undefined && name.toLowerCase() === 'idempotency-key') return true;
  return false;
}

/**
 * An HTTP client for one dependency, every request running through that dependency's policy.
 *
 * @example
 * const payments = createHttpClient({ baseUrl: 'http://payments.internal', policy: createPolicy({ name: 'payments' }) });
 * const receipt = (await payments.request({ path: '/receipts/42', signal: clientGone(reply) })).json();
 */
export function createHttpClient(options: HttpClientOptions): HttpClient {
  if (!isRecord(options)) throw invalidOptions('createHttpClient needs an options object');
  let base: URL;
  try {
    if (typeof options.baseUrl !== 'string') throw new TypeError('not a string');
    base = new URL(options.baseUrl);
  } catch (error) {
    throw Object.assign(invalidOptions(`baseUrl is not a URL: ${shown(options.baseUrl)}`), { cause: error });
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:')
    throw invalidOptions('baseUrl must be http or https');
  if (base.search || base.hash) throw invalidOptions('baseUrl must not carry a query string or a fragment');
  if (!isRecord(options.policy) || typeof options.policy.execute !== 'function')
    throw invalidOptions('createHttpClient needs a policy from createPolicy()');
  const maxBodyBytes = integer(options.maxBodyBytes, 'maxBodyBytes', HTTP_CLIENT_DEFAULTS.maxBodyBytes, 1);
  const maxRetryAfterMs = duration(
    options.maxRetryAfterMs,
    'maxRetryAfterMs',
    HTTP_CLIENT_DEFAULTS.maxRetryAfterMs,
    true,
  );
  const statuses = options.retryStatuses ?? HTTP_CLIENT_DEFAULTS.retryStatuses;
  if (
    !Array.isArray(statuses) ||
    !statuses.every((status) => Number.isInteger(status) && status >= 100 && status <= 599)
  )
    throw invalidOptions('retryStatuses must be an array of integer HTTP statuses (100-599)');
  const retryStatuses = new Set<number>(statuses);
  const deadlineOption = options.deadlineHeader ?? HTTP_CLIENT_DEFAULTS.deadlineHeader;
  if (
    deadlineOption !== false &&
    (typeof deadlineOption !== 'string' ||
      !TOKEN.test(deadlineOption) ||
      OWNED_HEADERS.has(deadlineOption.toLowerCase()))
  )
    throw invalidOptions(`deadlineHeader must be a header name or false, got ${shown(deadlineOption)}`);
  const deadlineHeader = deadlineOption === false ? false : deadlineOption.toLowerCase();
  const defaults: Headers = {};
  mergeHeaders(defaults, options.headers, 'headers', invalidOptions);
  const propagate =
    optionalFunction<(headers: Headers) => void>(options.propagate, 'propagate') ?? globalPropagate;
  if (
    options.dispatcher !== undefined &&
    typeof (options.dispatcher as { dispatch?: unknown } | null)?.dispatch !== 'function'
  )
    throw invalidOptions('dispatcher must be an undici Dispatcher');
  // undici (about 110 modules, 0.2 s of CPU) loads at the first request, not when the service starts.
  let ownDispatcher: Promise<Dispatcher> | undefined;
  let closed = false;
  const dispatcherOf = (): Promise<Dispatcher> => {
    if (options.dispatcher) return Promise.resolve(options.dispatcher);
    ownDispatcher ??= loadUndici().then(({ Agent }) => {
      const agent = new Agent();
      // Closed before its first request: it answers like a closed pool, as it did when made up front.
      if (closed) void agent.close();
      return agent;
    });
    return ownDispatcher;
  };
  const basePath = base.pathname.replace(/\/$/, '');
  const { policy } = options;
  const clientClosed = (cause?: unknown): ResilienceError =>
    new ResilienceError('RAMPART_RESILIENCE_CLIENT_CLOSED', `${policy.name}: request after close()`, {
      ...(cause === undefined ? {} : { cause }),
      retryable: false,
      breakerIgnores: true,
    });

  /** Everything about a request that does not change between attempts, checked before the policy runs. */
  function prepare(request: HttpRequest): PreparedRequest {
    if (!isRecord(request)) throw requestInvalid('request must be an object');
    if (typeof request.path !== 'string') throw requestInvalid('request needs a path string');
    const rawMethod = request.method ?? 'GET';
    if (typeof rawMethod !== 'string' || !TOKEN.test(rawMethod))
      throw requestInvalid('method is not a valid HTTP method token');
    const method = rawMethod.toUpperCase();
    if (method === 'CONNECT') throw requestInvalid('CONNECT is not supported');
    const headers: Headers = { ...defaults };
    mergeHeaders(headers, request.headers, 'request headers', (detail) => requestInvalid(detail));
    const body = encodeBody(request.body, headers);
    // Only the first '?' starts the query: a '?' inside the query is legal and kept.
    const { path } = request;
    if (hasControlCharacter(path)) throw requestInvalid('the path contains a control character');
    const query = path.indexOf('?');
    const pathname = query < 0 ? path : path.slice(0, query);
    checkPathname(pathname);
    const url = new URL(base);
    url.pathname = `${basePath}/${pathname.replace(/^\//, '')}`;
    url.search = query < 0 || query === path.length - 1 ? '' : path.slice(query);
    return { method, url, headers, body, keyed: hasIdempotencyKey(request.headers) };
  }

  async function attempt(call: PreparedRequest, context: AttemptContext): Promise<HttpResponse> {
    // close() while the call waited for a retry: no new attempt.
    if (closed) throw clientClosed();
    const { method, url } = call;
    // A controller of our own per attempt: aborting it in `finally` frees the socket of an attempt the policy
    // gave up on, and a retry never shares a signal with the attempt before it.
    const controller = new AbortController();
    const forward = (): void => controller.abort(context.signal.reason);
    if (context.signal.aborted) forward();
    else context.signal.addEventListener('abort', forward, { once: true });

    const headers: Headers = { ...call.headers };
    propagate(headers);
    if (deadlineHeader) headers[deadlineHeader] = String(Math.max(0, context.deadline - Date.now()));
    // Any failure to reach or hear the upstream (before or during the body): retried like a reset connection.
    const unreachable = (error: unknown): ResilienceError =>
      new ResilienceError(
        'RAMPART_RESILIENCE_UPSTREAM_UNREACHABLE',
        `${policy.name} ${method} ${url.pathname}`,
        {
          cause: error,
          retryable: true,
        },
      );

    try {
      let response: Dispatcher.ResponseData;
      try {
        const [{ request: undiciRequest }, dispatcher] = await Promise.all([loadUndici(), dispatcherOf()]);
        response = await undiciRequest(url, {
          method: method as Dispatcher.HttpMethod,
          headers,
          body: call.body,
          signal: controller.signal,
          dispatcher,
        });
      } catch (error) {
        if (controller.signal.aborted) throw error;
        const code = (error as { code?: unknown } | null)?.code;
        if (closed || code === 'UND_ERR_DESTROYED') throw clientClosed(error);
        // Refused by undici before a byte was sent: what prepare() could not foresee is still our bug.
        if (code === 'UND_ERR_INVALID_ARG' || code === 'UND_ERR_NOT_SUPPORTED')
          throw requestInvalid(`undici refused the request (${String(code)})`, error);
        throw unreachable(error);
      }
      const status = response.statusCode;
      const tooLarge = (): ResilienceError => {
        response.body.destroy();
        return new ResilienceError(
          'RAMPART_RESILIENCE_BODY_TOO_LARGE',
          `${policy.name}: over ${maxBodyBytes} bytes`,
          // One oversized response says nothing about the dependency's health.
          { retryable: false, breakerIgnores: true },
        );
      };
      // HEAD, 204 and 304 carry no body: their Content-Length describes one that is never sent.
      if (method !== 'HEAD' && status !== 204 && status !== 304) {
        const declared = Number(response.headers['content-length']);
        if (Number.isFinite(declared) && declared > maxBodyBytes) throw tooLarge();
      }
      const chunks: Buffer[] = [];
      let size = 0;
      try {
        for await (const chunk of response.body) {
          size += (chunk as Buffer).length;
          if (size > maxBodyBytes) throw tooLarge();
          chunks.push(chunk as Buffer);
        }
      } catch (error) {
        if (isResilienceError(error) || controller.signal.aborted) throw error;
        // The upstream died mid-body (crash, reset): as unreachable as if it had never answered.
        throw unreachable(error);
      }
      const result = makeResponse(status, response.headers, Buffer.concat(chunks));
      if (status >= 500 || retryStatuses.has(status)) {
        const retryAfterMs = parseRetryAfter(flatten(response.headers)['retry-after']);
        // The cause carries at most a few KiB of the failure's body (copied, so the rest can be collected): an
        // error logged with its cause must not write a megabyte of upstream data into every log line.
        const excerpt =
          result.body.length > UPSTREAM_BODY_IN_ERROR_BYTES
            ? Buffer.from(result.body.subarray(0, UPSTREAM_BODY_IN_ERROR_BYTES))
            : result.body;
        throw new ResilienceError('RAMPART_RESILIENCE_UPSTREAM_STATUS', `${policy.name} answered ${status}`, {
          cause: makeResponse(status, response.headers, excerpt),
          upstreamStatus: status,
          ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
          // A Retry-After past our patience is a "not now": fail at once rather than hold the caller.
          retryable:
            retryStatuses.has(status) && (retryAfterMs === undefined || retryAfterMs <= maxRetryAfterMs),
          // Being throttled says nothing about the dependency's health.
          breakerIgnores: status === 429,
        });
      }
      return result;
    } finally {
      context.signal.removeEventListener('abort', forward);
      controller.abort();
    }
  }

  return {
    async request(request) {
      if (closed) throw clientClosed();
      // Caller mistakes fail here, before the policy: never sent, never retried, never counted by the breaker.
      const call = prepare(request);
      const { signal, deadlineMs, idempotent: asked } = request;
      if (signal !== undefined && !isSignal(signal)) throw requestInvalid('signal must be an AbortSignal');
      // At or below 0 the deadline has passed: the policy answers DEADLINE_EXCEEDED.
      if (
        deadlineMs !== undefined &&
        (typeof deadlineMs !== 'number' || Number.isNaN(deadlineMs) || deadlineMs > MAX_TIMER_MS)
      )
        throw requestInvalid(`deadlineMs must be a number of ms at most ${MAX_TIMER_MS}`);
      if (asked !== undefined && typeof asked !== 'boolean')
        throw requestInvalid('idempotent must be a boolean');
      const idempotent = asked ?? (IDEMPOTENT_METHODS.has(call.method) || call.keyed);
      return policy.execute((context) => attempt(call, context), {
        idempotent,
        ...(signal ? { signal } : {}),
        ...(deadlineMs === undefined ? {} : { deadlineMs }),
      });
    },
    async close() {
      closed = true;
      if (ownDispatcher) await (await ownDispatcher).close();
    },
  };
}
