import { isSecurityError, SECURITY_ERRORS, type SecurityErrorCode } from './errors.ts';
import { negotiateLanguage, problemTitle } from './titles.ts';

/** An RFC 9457 problem details body, as Rampart sends it. */
export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail: string;
  /** A stable code: ours, or a `RAMPART_*` code of another package's client error. */
  code: string;
  /** Validation failures: where and what, from the schema only (never the rejected value). */
  errors?: { in: string; path: string; message: string }[];
  requestId?: string;
}

export interface Problem {
  status: number;
  language: string;
  body: ProblemDetails;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

// Fastify's own error codes that are the client's fault, mapped to our stable codes. Anything unknown with a
// 4xx status becomes RAMPART_SECURITY_REQUEST_INVALID; anything else is internal.
const FRAMEWORK_CODES: Readonly<Record<string, SecurityErrorCode>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'RAMPART_SECURITY_BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'RAMPART_SECURITY_MEDIA_TYPE_UNSUPPORTED',
  FST_ERR_CTP_INVALID_TYPE: 'RAMPART_SECURITY_MEDIA_TYPE_UNSUPPORTED',
  FST_ERR_CTP_INVALID_JSON_BODY: 'RAMPART_SECURITY_BODY_MALFORMED',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'RAMPART_SECURITY_BODY_MALFORMED',
  FST_ERR_NOT_FOUND: 'RAMPART_SECURITY_NOT_FOUND',
};

/**
 * What a 4xx thrown by a handler (an `httpErrors.notFound()`, a `statusCode: 409`) says to the client: a detail
 * that fits its status, never the error's own message. Statuses not listed get the generic one.
 */
const CLIENT_STATUS_DETAILS: ReadonlyMap<number, string> = new Map([
  [400, SECURITY_ERRORS.RAMPART_SECURITY_REQUEST_INVALID.message],
  [401, 'the request is not authenticated'],
  [403, 'the request is not allowed'],
  [404, 'the requested resource was not found'],
  [405, 'the resource does not accept this method'],
  [406, 'no acceptable representation is available'],
  [409, 'the request conflicts with the current state of the resource'],
  [410, 'the requested resource is gone'],
  [412, 'a precondition of the request failed'],
  [413, SECURITY_ERRORS.RAMPART_SECURITY_BODY_TOO_LARGE.message],
  [415, SECURITY_ERRORS.RAMPART_SECURITY_MEDIA_TYPE_UNSUPPORTED.message],
  [422, 'the request is well-formed but cannot be processed'],
  [428, 'the request must be conditional'],
  [429, SECURITY_ERRORS.RAMPART_SECURITY_RATE_LIMITED.message],
]);
const CLIENT_ERROR_DETAIL = 'the request was rejected';

/** Statuses another Rampart package may raise for a failing dependency; every other 5xx is internal. */
const DEPENDENCY_STATUSES: ReadonlySet<number> = new Set([502, 503, 504]);

interface ValidationIssue {
  instancePath?: unknown;
  message?: unknown;
}

interface Classified {
  code: string;
  status: number;
  detail: string;
  details?: object | undefined;
}

const INTERNAL: Classified = {
  code: 'RAMPART_SECURITY_INTERNAL',
  status: 500,
  detail: SECURITY_ERRORS.RAMPART_SECURITY_INTERNAL.message,
};

function ours(code: SecurityErrorCode, details?: object): Classified {
  const entry = SECURITY_ERRORS[code];
  return { code, status: entry.status, detail: entry.message, details };
}

/**
 * A wrapper with no status of its own (drizzle's DrizzleQueryError around @rampart/db's
 * RAMPART_DB_UNREACHABLE) whose cause chain holds a Rampart dependency failure answers as that failure.
 */
function dependencyCause(error: unknown): Classified | undefined {
  let current = (error as { cause?: unknown } | null)?.cause;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    const { code, statusCode, cause } = current as { code?: unknown; statusCode?: unknown; cause?: unknown };
    if (typeof code === 'string' && /^RAMPART_[A-Z0-9_]+$/.test(code) && typeof statusCode === 'number') {
      return DEPENDENCY_STATUSES.has(statusCode)
        ? { code, status: statusCode, detail: 'a dependency is unavailable; retry later' }
        : undefined;
    }
    current = cause;
  }
  return undefined;
}

/**
 * classify(), except that reading the error can throw (a getter on `statusCode` or `code`, a revoked Proxy):
 * then the answer is internal, and nothing of what was thrown reaches the client.
 */
function classify(error: unknown): Classified {
  try {
    return classifyUnsafe(error);
  } catch {
    return INTERNAL;
  }
}

function classifyUnsafe(error: unknown): Classified {
  if (isSecurityError(error)) {
    // Our server-side failures (a tampered ciphertext...) are still internal to the client.
    const status = SECURITY_ERRORS[error.code].status;
    if (status >= 500 && error.code !== 'RAMPART_SECURITY_RATE_LIMIT_UNAVAILABLE') return INTERNAL;
    return ours(error.code, error.details);
  }
  const candidate = (typeof error === 'object' && error !== null ? error : {}) as {
    code?: unknown;
    statusCode?: unknown;
    validation?: unknown;
    validationContext?: unknown;
  };
  if (Array.isArray(candidate.validation)) {
    const where = typeof candidate.validationContext === 'string' ? candidate.validationContext : 'body';
    const errors = (candidate.validation as ValidationIssue[]).slice(0, 20).map((issue) => ({
      in: where,
      path: typeof issue.instancePath === 'string' ? issue.instancePath : '',
      message: typeof issue.message === 'string' ? issue.message.slice(0, 200) : 'invalid',
    }));
    return ours('RAMPART_SECURITY_VALIDATION_FAILED', { errors });
  }
  const code = typeof candidate.code === 'string' ? candidate.code : '';
  // Own properties only: `toString` or `__proto__` as a code must not find Object.prototype's members.
  const mapped = Object.hasOwn(FRAMEWORK_CODES, code) ? FRAMEWORK_CODES[code] : undefined;
  if (mapped) return ours(mapped);
  const status = candidate.statusCode;
  if (typeof status !== 'number' || !Number.isInteger(status)) return dependencyCause(error) ?? INTERNAL;
  const rampart = /^RAMPART_[A-Z0-9_]+$/.test(code);
  if (status >= 400 && status < 500) {
    // Another Rampart package's client error keeps its stable code; its message is not ours to show.
    if (rampart) return { code, status, detail: CLIENT_ERROR_DETAIL };
    return {
      code: 'RAMPART_SECURITY_REQUEST_INVALID',
      status,
      detail: CLIENT_STATUS_DETAILS.get(status) ?? CLIENT_ERROR_DETAIL,
    };
  }
  // A dependency that is down, slow or refusing (an open breaker, a full bulkhead, an upstream timeout) is
  // not our bug: the client learns it may retry, with the stable code and never the cause's text.
  if (rampart && DEPENDENCY_STATUSES.has(status)) {
    return { code, status, detail: 'a dependency is unavailable; retry later' };
  }
  return INTERNAL;
}

export interface ProblemOptions {
  /** The request's Accept-Language header; picks the title's language. */
  acceptLanguage?: string | undefined;
  requestId?: string | undefined;
  /** Prefix of the `type` URI; the lowercased code follows it. */
  typeBase?: string;
}

/**
 * Turns any thrown value into problem details that are safe to send: the text comes from our catalog, never
 * from the error, so no stack, SQL or driver message can leave. Server errors carry no detail at all.
 */
export function toProblem(error: unknown, options: ProblemOptions = {}): Problem {
  const { code, status, detail, details } = classify(error);
  const language = negotiateLanguage(options.acceptLanguage);
  const body: ProblemDetails = {
    type: `${options.typeBase ?? 'urn:rampart:problem:'}${code.replace(/^RAMPART_/, '').toLowerCase()}`,
    title: problemTitle(code, status, language),
    status,
    detail,
    code,
  };
  if (status < 500 && details && 'errors' in details && Array.isArray(details.errors)) {
    body.errors = details.errors as ProblemDetails['errors'];
  }
  if (options.requestId) body.requestId = options.requestId;
  return { status, language, body };
}
