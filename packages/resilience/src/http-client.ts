import type { Dispatcher } from 'undici';
import { parseRetryAfter } from './backoff.ts';
import { invalidOptions, ResilienceError } from './errors.ts';
import type { AttemptContext, Policy } from './policy.ts';

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

export interface HttpRequest {
  method?: string;
  /** Appended to `baseUrl`; may carry a query string. */
  path: string;
  headers?: Headers;
  /** A string or bytes is sent as is; anything else as JSON. */
  body?: string | Uint8Array | Record<string, unknown> | unknown[];
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

/**
 * An HTTP client for one dependency, every request running through that dependency's policy.
 *
 * @example
 * const payments = createHttpClient({ baseUrl: 'http://payments.internal', policy: createPolicy({ name: 'payments' }) });
 * const receipt = (await payments.request({ path: '/receipts/42', signal: clientGone(reply) })).json();
 */
let undici: Promise<typeof import('undici')> | undefined;
const loadUndici = () => {
  undici ??= import('undici');
  return undici;
};

export function createHttpClient(options: HttpClientOptions): HttpClient {
  let base: URL;
  try {
    base = new URL(options.baseUrl);
  } catch (error) {
    throw Object.assign(invalidOptions(`baseUrl is not a URL: ${String(options.baseUrl)}`), { cause: error });
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:')
    throw invalidOptions('baseUrl must be http or https');
  if (!options.policy || typeof options.policy.execute !== 'function')
    throw invalidOptions('createHttpClient needs a policy from createPolicy()');
  const maxBodyBytes = options.maxBodyBytes ?? HTTP_CLIENT_DEFAULTS.maxBodyBytes;
  if (!(Number.isInteger(maxBodyBytes) && maxBodyBytes > 0))
    throw invalidOptions(`maxBodyBytes must be a positive integer, got ${maxBodyBytes}`);
  const maxRetryAfterMs = options.maxRetryAfterMs ?? HTTP_CLIENT_DEFAULTS.maxRetryAfterMs;
  if (!(Number.isFinite(maxRetryAfterMs) && maxRetryAfterMs >= 0))
    throw invalidOptions(`maxRetryAfterMs must be >= 0, got ${maxRetryAfterMs}`);
  const retryStatuses = new Set(options.retryStatuses ?? HTTP_CLIENT_DEFAULTS.retryStatuses);
  const deadlineHeader = options.deadlineHeader ?? HTTP_CLIENT_DEFAULTS.deadlineHeader;
  const propagate = options.propagate ?? globalPropagate;
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

  async function attempt(
    request: HttpRequest,
    method: string,
    context: AttemptContext,
  ): Promise<HttpResponse> {
    // A controller of our own per attempt: aborting it in `finally` frees the socket of an attempt the policy
    // gave up on, and a retry never shares a signal with the attempt before it.
    const controller = new AbortController();
    const forward = (): void => controller.abort(context.signal.reason);
    if (context.signal.aborted) forward();
    else context.signal.addEventListener('abort', forward, { once: true });

    const headers: Headers = { ...options.headers, ...request.headers };
    propagate(headers);
    if (deadlineHeader) headers[deadlineHeader] = String(Math.max(0, context.deadline - Date.now()));
    let body: string | Uint8Array | undefined;
    if (typeof request.body === 'string' || request.body instanceof Uint8Array) body = request.body;
    else if (request.body !== undefined) {
      body = JSON.stringify(request.body);
      headers['content-type'] ??= 'application/json';
    }
    const url = new URL(base);
    const [pathname = '', search] = request.path.split('?', 2);
    url.pathname = `${basePath}/${pathname.replace(/^\//, '')}`;
    url.search = search ? `?${search}` : '';

    try {
      let response: Dispatcher.ResponseData;
      try {
        const [{ request: undiciRequest }, dispatcher] = await Promise.all([loadUndici(), dispatcherOf()]);
        response = await undiciRequest(url, {
          method: method as Dispatcher.HttpMethod,
          headers,
          body,
          signal: controller.signal,
          dispatcher,
        });
      } catch (error) {
        if (controller.signal.aborted) throw error;
        throw new ResilienceError(
          'RAMPART_RESILIENCE_UPSTREAM_UNREACHABLE',
          `${policy.name} ${method} ${url.pathname}`,
          {
            cause: error,
            retryable: true,
          },
        );
      }
      const declared = Number(response.headers['content-length']);
      const tooLarge = (): ResilienceError => {
        response.body.destroy();
        return new ResilienceError(
          'RAMPART_RESILIENCE_BODY_TOO_LARGE',
          `${policy.name}: over ${maxBodyBytes} bytes`,
          {
            retryable: false,
          },
        );
      };
      if (Number.isFinite(declared) && declared > maxBodyBytes) throw tooLarge();
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of response.body) {
        size += (chunk as Buffer).length;
        if (size > maxBodyBytes) throw tooLarge();
        chunks.push(chunk as Buffer);
      }
      const status = response.statusCode;
      const result: HttpResponse = {
        status,
        headers: response.headers,
        body: Buffer.concat(chunks),
        text() {
          return this.body.toString('utf8');
        },
        json<T>() {
          return JSON.parse(this.body.toString('utf8')) as T;
        },
      };
      if (status >= 500 || retryStatuses.has(status)) {
        const retryAfterMs = parseRetryAfter(flatten(response.headers)['retry-after']);
        throw new ResilienceError('RAMPART_RESILIENCE_UPSTREAM_STATUS', `${policy.name} answered ${status}`, {
          cause: result,
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
      if (typeof request?.path !== 'string') throw invalidOptions('request needs a path');
      const method = (request.method ?? 'GET').toUpperCase();
      const keyed = Object.keys(request.headers ?? {}).some(
        (name) => name.toLowerCase() === 'idempotency-key',
      );
      const idempotent = request.idempotent ?? (IDEMPOTENT_METHODS.has(method) || keyed);
      return policy.execute((context) => attempt(request, method, context), {
        idempotent,
        ...(request.signal ? { signal: request.signal } : {}),
        ...(request.deadlineMs === undefined ? {} : { deadlineMs: request.deadlineMs }),
      });
    },
    async close() {
      closed = true;
      if (ownDispatcher) await (await ownDispatcher).close();
    },
  };
}
