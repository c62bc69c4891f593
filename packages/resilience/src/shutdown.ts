import { constants } from 'node:os';
import { invalidOptions } from './errors.ts';
import { duration, isRecord, optionalFunction, shown } from './validate.ts';

/** One piece of the service to stop, in order: the HTTP listener, task workers, the db pool, exporters. */
export interface ShutdownStep {
  name: string;
  /** `signal` aborts when the hard deadline is reached, just before the process exits 1. */
  run(signal: AbortSignal): Promise<void> | void;
}

/** The subset of a pino (or Fastify) logger shutdown writes to. */
export interface ShutdownLogger {
  info(object: object, message: string): void;
  error(object: object, message: string): void;
}

export interface ShutdownOptions {
  steps: ShutdownStep[];
  /** Total time allowed from the signal to exit 0; past it the process exits 1. */
  graceMs?: number;
  /** Time between readiness turning 503 and the first step, so load balancers stop sending traffic first. */
  drainDelayMs?: number;
  signals?: NodeJS.Signals[];
  logger?: ShutdownLogger;
  /** Replaced in tests; defaults to `process.exit`. */
  exit?: (code: number) => void;
}

export interface Shutdown {
  /** A bound function: pass it as `createHealth({ isShuttingDown })`. */
  readonly isShuttingDown: () => boolean;
  /** Installs the signal handlers; returns a function that removes them. */
  listen(): () => void;
  /**
   * Begins shutdown (a signal handler calls this): readiness turns 503 at once, then after `drainDelayMs` each
   * step runs in order; exit 0 when all succeed, 1 when one failed or the deadline passed.
   */
  begin(reason: string): Promise<number>;
}

export const SHUTDOWN_DEFAULTS = {
  graceMs: 10_000,
  drainDelayMs: 0,
  signals: ['SIGTERM', 'SIGINT'] as NodeJS.Signals[],
} as const;

const silent: ShutdownLogger = { info() {}, error() {} };

// Their handlers cannot be installed (process.on throws EINVAL).
const UNCATCHABLE = new Set(['SIGKILL', 'SIGSTOP']);

/**
 * Graceful shutdown for a service's server.ts.
 *
 * @example
 * const shutdown = createShutdown({
 *   graceMs: 10_000,
 *   steps: [
 *     { name: 'http', run: () => app.close() },
 *     { name: 'tasks', run: () => worker.stop() },
 *     { name: 'db', run: () => pool.end() },
 *   ],
 * });
 * shutdown.listen();
 */
export function createShutdown(options: ShutdownOptions): Shutdown {
  if (!isRecord(options)) throw invalidOptions('createShutdown needs an options object');
  if (!Array.isArray(options.steps)) throw invalidOptions('shutdown needs a steps array');
  for (const step of options.steps) {
    if (typeof step?.name !== 'string' || typeof step.run !== 'function')
      throw invalidOptions('each shutdown step needs a name and a run function');
  }
  // A copy: steps pushed onto the caller's array later would skip these checks.
  const steps = [...options.steps];
  const graceMs = duration(options.graceMs, 'graceMs', SHUTDOWN_DEFAULTS.graceMs);
  const drainDelayMs = duration(options.drainDelayMs, 'drainDelayMs', SHUTDOWN_DEFAULTS.drainDelayMs, true);
  if (drainDelayMs >= graceMs)
    throw invalidOptions(`drainDelayMs must be below graceMs (${graceMs}), got ${drainDelayMs}`);
  const given = options.signals ?? SHUTDOWN_DEFAULTS.signals;
  // A string would be iterated letter by letter ('S', 'I', 'G', ...): no handler for the signal at all.
  if (!Array.isArray(given))
    throw invalidOptions(`signals must be an array of signal names, got ${shown(given)}`);
  const signals = [...given];
  for (const signal of signals) {
    if (typeof signal !== 'string' || !Object.hasOwn(constants.signals, signal) || UNCATCHABLE.has(signal))
      throw invalidOptions(`signals: ${shown(signal)} is not a signal a process can handle`);
  }
  const logger = options.logger ?? silent;
  if (typeof logger?.info !== 'function' || typeof logger.error !== 'function')
    throw invalidOptions('logger must have info() and error() (a pino or Fastify logger)');
  const exit =
    optionalFunction<(code: number) => void>(options.exit, 'exit') ?? ((code: number) => process.exit(code));

  let started: Promise<number> | undefined;
  let removeListeners: (() => void) | undefined;
  let exited = false;
  const finish = (code: number): void => {
    if (exited) return;
    exited = true;
    exit(code);
  };

  async function run(reason: string): Promise<number> {
    const startedAt = Date.now();
    logger.info({ reason, graceMs, drainDelayMs }, 'shutdown: readiness is now 503');
    const deadline = new AbortController();
    // The step running when the grace period runs out: the one to look at.
    let current: string | undefined;
    // Deliberately not unref()'d: if a step hangs on a promise with no handle behind it, this timer is what
    // turns the hang into exit 1 instead of a silent exit 0.
    const timer = setTimeout(() => {
      logger.error({ reason, graceMs, step: current }, 'shutdown: grace period exceeded, exiting 1');
      deadline.abort();
      finish(1);
    }, graceMs);
    let code = 0;
    try {
      if (drainDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, drainDelayMs));
      for (const step of steps) {
        if (exited) break;
        const stepStarted = Date.now();
        current = step.name;
        try {
          await step.run(deadline.signal);
          logger.info({ step: step.name, durationMs: Date.now() - stepStarted }, 'shutdown: step done');
        } catch (error) {
          // Later steps still run: a failed worker drain must not stop the exporters from flushing.
          code = 1;
          logger.error({ step: step.name, err: error }, 'shutdown: step failed');
        }
      }
    } finally {
      clearTimeout(timer);
    }
    logger.info({ code, durationMs: Date.now() - startedAt }, 'shutdown: done');
    finish(code);
    return code;
  }

  const begin = (reason: string): Promise<number> => {
    started ??= run(reason);
    return started;
  };

  return {
    isShuttingDown: () => started !== undefined,
    begin,
    listen() {
      // Idempotent: a second set of handlers would take the first signal for a second one and exit 1 at once.
      if (removeListeners) return removeListeners;
      const onSignal = (signal: NodeJS.Signals): void => {
        if (started) {
          logger.error({ signal }, 'shutdown: second signal, exiting now');
          finish(1);
          return;
        }
        void begin(signal);
      };
      for (const signal of signals) process.on(signal, onSignal);
      const remove = (): void => {
        if (removeListeners !== remove) return;
        removeListeners = undefined;
        for (const signal of signals) process.off(signal, onSignal);
      };
      removeListeners = remove;
      return remove;
    },
  };
}
