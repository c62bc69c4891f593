/**
 * Every error this package raises, with its HTTP status and a message of our own. Codes are stable and never
 * reused: clients and tests identify errors by `code`, never by message or class.
 */
export const SECURITY_ERRORS = {
  RAMPART_SECURITY_OPTIONS_INVALID: { status: 500, message: 'invalid @rampart/security options' },
  RAMPART_SECURITY_ROUTE_AUTH_MISSING: {
    status: 500,
    message: "route declares no auth decision: set config.auth to { scopes } or 'public'",
  },
  RAMPART_SECURITY_VALIDATION_FAILED: { status: 400, message: 'the request does not match the schema' },
  RAMPART_SECURITY_BODY_MALFORMED: { status: 400, message: 'the request body is not valid JSON' },
  RAMPART_SECURITY_PROTOTYPE_POISONING: {
    status: 400,
    message: 'the request body contains a forbidden prototype property',
  },
  RAMPART_SECURITY_BODY_TEXT_INVALID: {
    status: 400,
    message: 'a string in the request body contains U+0000 or an unpaired surrogate, which cannot be stored',
  },
  RAMPART_SECURITY_BODY_TOO_DEEP: {
    status: 400,
    message: 'the request body nests objects and arrays more than 256 levels deep',
  },
  RAMPART_SECURITY_BODY_NUMBER_INVALID: {
    status: 400,
    message: 'a number in the request body is too large to represent',
  },
  RAMPART_SECURITY_BODY_TOO_LARGE: { status: 413, message: 'the request body exceeds the size limit' },
  RAMPART_SECURITY_MEDIA_TYPE_UNSUPPORTED: {
    status: 415,
    message: 'the request content type is not supported',
  },
  RAMPART_SECURITY_CONTENT_ENCODING_UNSUPPORTED: {
    status: 415,
    message: 'the request body has a content coding (Content-Encoding); send it unencoded',
  },
  RAMPART_SECURITY_REQUEST_INVALID: { status: 400, message: 'the request is malformed' },
  RAMPART_SECURITY_REQUEST_TIMEOUT: { status: 408, message: 'the request did not arrive in time' },
  RAMPART_SECURITY_HEADERS_TOO_LARGE: { status: 431, message: 'the request headers exceed the size limit' },
  RAMPART_SECURITY_EXPECTATION_FAILED: {
    status: 417,
    message: 'the Expect header asks for something other than 100-continue',
  },
  RAMPART_SECURITY_HOST_MISSING: {
    status: 400,
    message: 'an HTTP/1.1 request must carry a Host header',
  },
  RAMPART_SECURITY_HOST_DUPLICATED: {
    status: 400,
    message: 'the request carries more than one Host header',
  },
  RAMPART_SECURITY_NOT_FOUND: { status: 404, message: 'no route matches the request' },
  RAMPART_SECURITY_METHOD_NOT_ALLOWED: {
    status: 405,
    message: 'the route does not accept this method; the Allow header lists those it does',
  },
  RAMPART_SECURITY_AUTH_REQUIRED: { status: 401, message: 'an API key is required' },
  RAMPART_SECURITY_KEY_INVALID: { status: 401, message: 'the API key is invalid, expired or revoked' },
  RAMPART_SECURITY_KEY_IN_QUERY: {
    status: 400,
    message: 'API keys are accepted only in a header, never in the query string',
  },
  RAMPART_SECURITY_SCOPE_MISSING: { status: 403, message: 'the API key lacks a required scope' },
  RAMPART_SECURITY_RATE_LIMITED: { status: 429, message: 'too many requests' },
  RAMPART_SECURITY_AUTH_RATE_LIMITED: { status: 429, message: 'too many failed authentications' },
  RAMPART_SECURITY_RATE_LIMIT_UNAVAILABLE: {
    status: 503,
    message: 'the rate limit store is unavailable',
  },
  RAMPART_SECURITY_INTERNAL: { status: 500, message: 'internal server error' },
  RAMPART_SECURITY_KEY_NOT_FOUND: { status: 404, message: 'no API key has this id' },
  RAMPART_SECURITY_CIPHERTEXT_INVALID: {
    status: 500,
    message: 'an encrypted value failed authentication (tampered, truncated or moved)',
  },
  RAMPART_SECURITY_ENCRYPTION_KEY_UNKNOWN: {
    status: 500,
    message: 'an encrypted value names a key version missing from the key ring',
  },
  RAMPART_SECURITY_WEBHOOK_SIGNATURE_INVALID: {
    status: 401,
    message: 'the webhook signature is missing or does not match',
  },
  RAMPART_SECURITY_WEBHOOK_TIMESTAMP_INVALID: {
    status: 401,
    message: 'the webhook timestamp is missing or outside the tolerance window',
  },
  RAMPART_SECURITY_WEBHOOK_REPLAYED: { status: 401, message: 'the webhook was already delivered' },
} as const satisfies Record<string, { status: number; message: string }>;

export type SecurityErrorCode = keyof typeof SECURITY_ERRORS;

/** The error class behind every code above. Identify it by `code`, not `instanceof`. */
export class SecurityError extends Error {
  readonly code: SecurityErrorCode;
  readonly statusCode: number;
  /** Extra facts safe to show a client (e.g. validation failures); never internals. */
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(
    code: SecurityErrorCode,
    options: { detail?: string; cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    const entry = SECURITY_ERRORS[code];
    super(options.detail ? `${entry.message}: ${options.detail}` : entry.message, { cause: options.cause });
    this.name = 'SecurityError';
    this.code = code;
    this.statusCode = entry.status;
    this.details = options.details;
  }
}

/** True for any error carrying one of this package's codes (works across package copies). */
export function isSecurityError(error: unknown): error is SecurityError {
  return (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as { code?: unknown }).code === 'string' &&
    Object.hasOwn(SECURITY_ERRORS, (error as { code: string }).code)
  );
}
