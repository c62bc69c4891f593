/** Every error @rampart/testing throws, by code: message and the HTTP status it stands for. */
export const TESTING_ERRORS = {
  RAMPART_TESTING_OPTIONS_INVALID: { status: 500, message: 'invalid @rampart/testing options' },
  RAMPART_TESTING_TARGET_INVALID: {
    status: 500,
    message: 'the build function did not return a usable hardening target',
  },
  RAMPART_TESTING_CHECK_FAILED: { status: 500, message: 'a hardening check failed' },
} as const;

export type TestingErrorCode = keyof typeof TESTING_ERRORS;

/** A coded error of @rampart/testing; identify it by `code`. */
export class TestingError extends Error {
  readonly code: TestingErrorCode;
  readonly status: number;

  constructor(code: TestingErrorCode, options: { detail?: string; cause?: unknown } = {}) {
    const { message, status } = TESTING_ERRORS[code];
    super(options.detail ? `${code}: ${message}: ${options.detail}` : `${code}: ${message}`, {
      cause: options.cause,
    });
    this.name = 'TestingError';
    this.code = code;
    this.status = status;
  }
}

/** True when `error` is a TestingError (optionally with this code), judged by its code. */
export function isTestingError(error: unknown, code?: TestingErrorCode): error is TestingError {
  if (typeof error !== 'object' || error === null) return false;
  const found = (error as { code?: unknown }).code;
  if (typeof found !== 'string' || !(found in TESTING_ERRORS)) return false;
  return code === undefined || found === code;
}
