/**
 * Every error this package raises, with its HTTP status and a message of our own. Codes are stable and never
 * reused: identify errors by `code`, never by message or class.
 */
export const OBSERVABILITY_ERRORS = {
  RAMPART_OBSERVABILITY_OPTIONS_INVALID: { status: 500, message: 'invalid @rampart/observability options' },
  RAMPART_OBSERVABILITY_CONFIG_INVALID: { status: 500, message: 'invalid OTEL_* environment variable' },
  RAMPART_OBSERVABILITY_TRACING_STARTED: {
    status: 500,
    message: 'tracing is already started in this process; shut it down first',
  },
  RAMPART_OBSERVABILITY_REQUEST_LOGGING_ENABLED: {
    status: 500,
    message: "fastify's own request logging is on: create fastify with disableRequestLogging: true",
  },
  RAMPART_OBSERVABILITY_METRICS_LISTEN_FAILED: {
    status: 500,
    message: 'the metrics server could not listen on its port',
  },
  RAMPART_OBSERVABILITY_METRICS_UNAUTHORIZED: {
    status: 401,
    message: 'a valid bearer token is required to read metrics',
  },
} as const satisfies Record<string, { status: number; message: string }>;

export type ObservabilityErrorCode = keyof typeof OBSERVABILITY_ERRORS;

/** The codes above, in table order (the README's errors table lists the same). */
export const observabilityErrorCodes = Object.keys(OBSERVABILITY_ERRORS) as ObservabilityErrorCode[];

/** The one error class of this package; identify errors by `code`, not by class. */
export class ObservabilityError extends Error {
  readonly code: ObservabilityErrorCode;
  readonly status: number;
  constructor(code: ObservabilityErrorCode, detail?: string, options?: { cause?: unknown }) {
    const base = OBSERVABILITY_ERRORS[code];
    super(detail ? `${base.message}: ${detail}` : base.message, { cause: options?.cause });
    this.name = 'ObservabilityError';
    this.code = code;
    this.status = base.status;
  }
}

/** True when `error` carries one of this package's codes (works across copies of the package). */
export function isObservabilityError(
  error: unknown,
  code?: ObservabilityErrorCode,
): error is ObservabilityError {
  if (typeof error !== 'object' || error === null) return false;
  const found = (error as { code?: unknown }).code;
  if (typeof found !== 'string' || !(found in OBSERVABILITY_ERRORS)) return false;
  return code === undefined || found === code;
}

export function invalidOptions(detail: string): ObservabilityError {
  return new ObservabilityError('RAMPART_OBSERVABILITY_OPTIONS_INVALID', detail);
}
