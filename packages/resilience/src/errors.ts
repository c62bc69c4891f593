/**
 * Every error this package raises, by code. Codes are stable and never reused; `status` is the HTTP
 * status a service should answer with when the error reaches a client (the error's `statusCode`).
 */
export const ERRORS = {
  RAMPART_RESILIENCE_INVALID_OPTIONS: { status: 500, message: 'invalid resilience options' },
  RAMPART_RESILIENCE_TIMEOUT: { status: 504, message: 'the attempt timed out' },
  RAMPART_RESILIENCE_DEADLINE_EXCEEDED: {
    status: 504,
    message: 'the deadline passed before the call finished',
  },
  RAMPART_RESILIENCE_ABORTED: { status: 499, message: 'the caller aborted the call' },
  RAMPART_RESILIENCE_CIRCUIT_OPEN: { status: 503, message: 'the circuit breaker is open' },
  RAMPART_RESILIENCE_BULKHEAD_FULL: { status: 503, message: 'the bulkhead and its queue are full' },
  RAMPART_RESILIENCE_UPSTREAM_STATUS: { status: 502, message: 'the upstream answered with a failure status' },
  RAMPART_RESILIENCE_UPSTREAM_UNREACHABLE: { status: 502, message: 'the upstream could not be reached' },
  RAMPART_RESILIENCE_BODY_TOO_LARGE: { status: 502, message: 'the upstream response body exceeds the cap' },
  RAMPART_RESILIENCE_CHECK_FAILED: { status: 503, message: 'a readiness check failed' },
  RAMPART_RESILIENCE_CHECK_TIMEOUT: { status: 503, message: 'a readiness check timed out' },
  RAMPART_RESILIENCE_OVERLOADED: { status: 503, message: 'the service is overloaded, retry later' },
  // The calling service's own bug (a header with CR/LF, a body JSON cannot carry, a `..` path segment): never
  // sent, never retried, never counted against the breaker. 500, not 400: the end client did nothing wrong.
  RAMPART_RESILIENCE_REQUEST_INVALID: { status: 500, message: 'the outbound request is invalid' },
  RAMPART_RESILIENCE_CLIENT_CLOSED: { status: 500, message: 'the HTTP client is closed' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ResilienceErrorCode = keyof typeof ERRORS;

/** The codes above, in table order (the README's errors table lists the same). */
export const errorCodes = Object.keys(ERRORS) as ResilienceErrorCode[];

export interface ResilienceErrorOptions {
  cause?: unknown;
  /** The status the upstream answered (RAMPART_RESILIENCE_UPSTREAM_STATUS). */
  upstreamStatus?: number;
  /** How long the upstream asked us to wait (its Retry-After), read by the retry backoff. */
  retryAfterMs?: number;
  /** Read by the default `retryOn`. */
  retryable?: boolean;
  /** Read by the default breaker `failureOn`: true for failures that say nothing about the dependency's health. */
  breakerIgnores?: boolean;
}

/** The one error class of this package; identify errors by `code`, not by class. */
export class ResilienceError extends Error {
  readonly code: ResilienceErrorCode;
  /**
   * The HTTP status a service should answer with (not the upstream's: see `upstreamStatus`). Named
   * `statusCode` like every Rampart error and Fastify's, so problem+json answers 503 for an open circuit.
   */
  readonly statusCode: number;
  readonly upstreamStatus?: number;
  readonly retryAfterMs?: number;
  readonly retryable?: boolean;
  readonly breakerIgnores?: boolean;
  constructor(code: ResilienceErrorCode, detail?: string, options: ResilienceErrorOptions = {}) {
    const base = ERRORS[code];
    super(detail ? `${base.message}: ${detail}` : base.message, { cause: options.cause });
    this.name = 'ResilienceError';
    this.code = code;
    this.statusCode = base.status;
    if (options.upstreamStatus !== undefined) this.upstreamStatus = options.upstreamStatus;
    if (options.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
    if (options.retryable !== undefined) this.retryable = options.retryable;
    if (options.breakerIgnores !== undefined) this.breakerIgnores = options.breakerIgnores;
  }
}

/** True when `error` carries one of this package's codes (works across copies of the package). */
export function isResilienceError(error: unknown, code?: ResilienceErrorCode): error is ResilienceError {
  if (typeof error !== 'object' || error === null) return false;
  const found = (error as { code?: unknown }).code;
  if (typeof found !== 'string' || !(found in ERRORS)) return false;
  return code === undefined || found === code;
}

export function invalidOptions(detail: string): ResilienceError {
  return new ResilienceError('RAMPART_RESILIENCE_INVALID_OPTIONS', detail);
}

/** A caller mistake in an outbound request: `detail` names what is wrong, never a header's value. */
export function requestInvalid(detail: string, cause?: unknown): ResilienceError {
  return new ResilienceError('RAMPART_RESILIENCE_REQUEST_INVALID', detail, {
    ...(cause === undefined ? {} : { cause }),
    retryable: false,
    breakerIgnores: true,
  });
}
