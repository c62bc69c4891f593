/**
 * Every error this package raises, with its HTTP status and a message of our own. Codes are stable and never
 * reused: callers and tests identify errors by `code`, never by message or class.
 */
export const TASKS_ERRORS = {
  RAMPART_TASKS_OPTIONS_INVALID: { status: 500, message: 'invalid @rampart/tasks options' },
  RAMPART_TASKS_TASK_INVALID: { status: 500, message: 'invalid task definition' },
  RAMPART_TASKS_TASK_UNKNOWN: { status: 500, message: 'the task is not registered with this queue' },
  RAMPART_TASKS_PAYLOAD_INVALID: { status: 400, message: 'the task payload does not match its schema' },
  RAMPART_TASKS_ENQUEUE_OPTIONS_INVALID: { status: 400, message: 'invalid enqueue options' },
  RAMPART_TASKS_NOT_STARTED: { status: 503, message: 'the task queue is not started' },
  RAMPART_TASKS_START_FAILED: { status: 503, message: 'the task queue could not start' },
  RAMPART_TASKS_ENQUEUE_FAILED: { status: 503, message: 'the job could not be stored' },
  RAMPART_TASKS_JOB_PAYLOAD_INVALID: {
    status: 500,
    message: 'a fetched job does not match its task schema; it was failed without running',
  },
  RAMPART_TASKS_JOB_TIMEOUT: { status: 504, message: 'the handler exceeded its timeout and was aborted' },
  RAMPART_TASKS_SHUTDOWN: {
    status: 503,
    message: 'the worker shut down before the handler finished; the job will run again',
  },
  RAMPART_TASKS_WORKER_RUNNING: { status: 500, message: 'the worker is already running' },
  RAMPART_TASKS_STOP_INCOMPLETE: {
    status: 503,
    message:
      'the database did not answer in time while stopping; jobs whose outcome was not stored run again once they expire',
  },
} as const satisfies Record<string, { status: number; message: string }>;

export type TasksErrorCode = keyof typeof TASKS_ERRORS;

/** The error class behind every code above. Identify it by `code`, not `instanceof`. */
export class TasksError extends Error {
  readonly code: TasksErrorCode;
  readonly statusCode: number;
  /** Machine-readable detail, e.g. the schema errors of an invalid payload. */
  readonly details: unknown;

  constructor(code: TasksErrorCode, options: { detail?: string; cause?: unknown; details?: unknown } = {}) {
    const entry = TASKS_ERRORS[code];
    super(options.detail ? `${entry.message}: ${options.detail}` : entry.message, { cause: options.cause });
    this.name = 'TasksError';
    this.code = code;
    this.statusCode = entry.status;
    this.details = options.details;
  }
}

/** True for any error carrying one of this package's codes, optionally a given one (works across copies). */
export function isTasksError(error: unknown, code?: TasksErrorCode): error is TasksError {
  if (typeof error !== 'object' || error === null) return false;
  const actual = (error as { code?: unknown }).code;
  if (typeof actual !== 'string' || !Object.hasOwn(TASKS_ERRORS, actual)) return false;
  return code === undefined || actual === code;
}

/**
 * Any thrown value as an Error: an Error as it is; an object with a string `message` (pg-boss emits such
 * copies of its errors, and handlers throw them) keeps that message and its string `code`; anything else
 * becomes its String(), never "[object Object]" in a log or a stored failure.
 */
export function asError(value: unknown): Error {
  if (value instanceof Error) return value;
  if (typeof value === 'object' && value !== null) {
    const { message, code } = value as { message?: unknown; code?: unknown };
    if (typeof message === 'string') {
      const error = new Error(message, { cause: value });
      if (typeof code === 'string') Object.assign(error, { code });
      return error;
    }
  }
  return new Error(String(value));
}
