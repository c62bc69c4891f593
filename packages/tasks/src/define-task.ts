import type { Static, TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { TasksError } from './errors.ts';

/** What a handler gets besides its payload. */
export interface JobContext {
  /** The task's name. */
  readonly task: string;
  /** The pg-boss job id. */
  readonly jobId: string;
  /**
   * The enqueue's idempotency key, or the job id when none was given. Delivery is at least once: a
   * handler can run again for the same job (after a crash, a timeout or a shutdown), so it should make
   * its side effect idempotent on this key.
   */
  readonly idempotencyKey: string;
  /** 1 for the first run, 2 for the first retry, and so on. */
  readonly attempt: number;
  /** Aborted when the handler exceeds its timeout or the worker shuts down past its grace period. */
  readonly signal: AbortSignal;
}

export interface RetryBackoff {
  /** 'exponential' doubles the delay with each retry (with jitter, pg-boss's formula); 'fixed' keeps it. */
  type: 'fixed' | 'exponential';
  /** Delay before the first retry, in whole seconds (pg-boss's granularity). 0 retries at once. */
  delaySeconds: number;
  /** Upper bound for exponential delays, in whole seconds. */
  maxDelaySeconds?: number;
}

export interface RetryPolicy {
  /** Retries after the first attempt; `limit + 1` attempts in all, then the dead letter queue. */
  limit: number;
  backoff?: RetryBackoff;
}

export interface TaskSchedule {
  /** A cron expression (5 fields, or 6 with seconds first), evaluated by pg-boss. */
  cron: string;
  /** The payload each scheduled job gets; validated against the schema at definition time. */
  payload: unknown;
  /** IANA time zone the expression is read in. Default UTC. */
  tz?: string;
}

export interface TaskOptions<S extends TSchema> {
  /** Queue name: letters, digits, `_`, `-`, `.`; starts with a letter; at most 60 characters. */
  name: string;
  /** TypeBox schema of the payload, checked at enqueue and again when a worker fetches the job. */
  schema: S;
  handler: (payload: Static<S>, context: JobContext) => Promise<unknown>;
  retry?: RetryPolicy;
  /** Handler timeout in milliseconds; its signal is aborted and the attempt fails when it passes. */
  timeout?: number;
  /** Handlers of this task running at once in one worker process. */
  concurrency?: number;
  schedule?: TaskSchedule;
  /** Keep jobs that exhaust their retries in the `<name>.dead` queue (default true). */
  deadLetter?: boolean;
}

/** Defaults for every task option; one place, documented in the README. */
export const TASK_DEFAULTS = {
  retry: { limit: 3, backoff: { type: 'exponential', delaySeconds: 1, maxDelaySeconds: 300 } },
  timeout: 60_000,
  concurrency: 5,
  deadLetter: true,
} as const;

/** A task as a worker and `enqueue` use it: normalized options and a compiled payload validator. */
export interface Task<S extends TSchema = TSchema> {
  readonly name: string;
  readonly schema: S;
  // Method syntax on purpose: a Task<TObject<...>> must be usable where a Task<TSchema> is expected.
  handler(payload: Static<S>, context: JobContext): Promise<unknown>;
  readonly retry: {
    limit: number;
    backoff: Required<RetryBackoff> | { type: 'fixed'; delaySeconds: number };
  };
  readonly timeout: number;
  readonly concurrency: number;
  readonly schedule: TaskSchedule | undefined;
  /** The dead letter queue's name, or undefined when dead-lettering is off. */
  readonly deadLetter: string | undefined;
  /** Returns the schema errors of `payload` (empty when it is valid). */
  check(payload: unknown): Array<{ path: string; message: string }>;
}

const NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,59}$/;
const MAX_TIMEOUT_MS = 23 * 60 * 60 * 1000; // pg-boss caps expiration at 24 hours

function invalid(detail: string): never {
  throw new TasksError('RAMPART_TASKS_TASK_INVALID', { detail });
}

function wholeNumber(value: unknown, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    invalid(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}

function normalizeBackoff(backoff: RetryBackoff | undefined): Task['retry']['backoff'] {
  if (backoff === undefined) return { ...TASK_DEFAULTS.retry.backoff };
  if (backoff.type !== 'fixed' && backoff.type !== 'exponential') {
    invalid(`retry.backoff.type must be 'fixed' or 'exponential', got ${JSON.stringify(backoff.type)}`);
  }
  const delaySeconds = wholeNumber(backoff.delaySeconds, 'retry.backoff.delaySeconds', 0, 86_400);
  if (backoff.type === 'fixed') return { type: 'fixed', delaySeconds };
  const maxDelaySeconds = wholeNumber(
    backoff.maxDelaySeconds ?? TASK_DEFAULTS.retry.backoff.maxDelaySeconds,
    'retry.backoff.maxDelaySeconds',
    delaySeconds,
    86_400,
  );
  return { type: 'exponential', delaySeconds, maxDelaySeconds };
}

/**
 * Defines a durable task: its payload schema, handler and retry/timeout/concurrency policy. Invalid
 * options throw RAMPART_TASKS_TASK_INVALID here, not at the first job.
 *
 * @example
 * const sendWebhook = defineTask({
 *   name: 'send-webhook',
 *   schema: Type.Object({ url: Type.String(), body: Type.String() }),
 *   retry: { limit: 5, backoff: { type: 'exponential', delaySeconds: 2 } },
 *   timeout: 10_000,
 *   concurrency: 10,
 *   async handler(payload, { signal, idempotencyKey }) {
 *     await fetch(payload.url, { method: 'POST', body: payload.body, signal, headers: { 'idempotency-key': idempotencyKey } });
 *   },
 * });
 */
export function defineTask<S extends TSchema>(options: TaskOptions<S>): Task<S> {
  if (typeof options !== 'object' || options === null) invalid('options must be an object');
  if (typeof options.name !== 'string' || !NAME.test(options.name)) {
    invalid(`name must match ${NAME}, got ${JSON.stringify(options.name)}`);
  }
  if (typeof options.handler !== 'function') invalid(`${options.name}: handler must be a function`);
  if (typeof options.schema !== 'object' || options.schema === null) {
    invalid(`${options.name}: schema must be a TypeBox schema`);
  }
  let validator: ReturnType<typeof Compile<S>>;
  try {
    validator = Compile(options.schema);
  } catch (error) {
    throw new TasksError('RAMPART_TASKS_TASK_INVALID', {
      detail: `${options.name}: schema does not compile`,
      cause: error,
    });
  }
  const check = (payload: unknown) =>
    validator.Check(payload)
      ? []
      : validator
          .Errors(payload)
          .map((error) => ({ path: error.instancePath || '/', message: error.message }));

  const limit = wholeNumber(options.retry?.limit ?? TASK_DEFAULTS.retry.limit, 'retry.limit', 0, 1000);
  const timeout = wholeNumber(options.timeout ?? TASK_DEFAULTS.timeout, 'timeout', 1, MAX_TIMEOUT_MS);
  const concurrency = wholeNumber(options.concurrency ?? TASK_DEFAULTS.concurrency, 'concurrency', 1, 1000);
  const schedule = options.schedule;
  if (schedule !== undefined) {
    if (typeof schedule.cron !== 'string' || schedule.cron.trim() === '') {
      invalid(`${options.name}: schedule.cron must be a cron expression`);
    }
    const problems = check(schedule.payload);
    if (problems.length > 0) {
      throw new TasksError('RAMPART_TASKS_TASK_INVALID', {
        detail: `${options.name}: schedule.payload does not match the schema`,
        details: problems,
      });
    }
  }
  const deadLetter = options.deadLetter ?? TASK_DEFAULTS.deadLetter;
  return {
    name: options.name,
    schema: options.schema,
    handler: options.handler,
    retry: { limit, backoff: normalizeBackoff(options.retry?.backoff) },
    timeout,
    concurrency,
    schedule,
    deadLetter: deadLetter ? `${options.name}.dead` : undefined,
    check,
  };
}
