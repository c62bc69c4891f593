import { context, trace } from '@opentelemetry/api';
import pino, { type DestinationStream, type Level, type Logger } from 'pino';
import { invalidOptions } from './errors.ts';
import { type BufferedDestination, bufferedDestination } from './stdout-destination.ts';
import { fastWildcardRedaction, hasNestedWildcard } from './wildcard-redaction.ts';

/**
 * Secrets that must never reach a log line, as pino redact paths. Not applied unless passed: a service
 * hands `createLogger` one list (usually these plus its own security package's list).
 */
export const DEFAULT_REDACT_PATHS: readonly string[] = Object.freeze([
  // Exact paths only: a wildcard path (`*.password`) makes every log line walk its object, which cost
  // about 3 µs a line in bench/; list the places secrets really travel instead.
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'headers["x-api-key"]',
  'headers["set-cookie"]',
  'body.password',
  'body.token',
  'body.secret',
  'body.apiKey',
  'query.token',
  'query.api_key',
  'query.apiKey',
]);

export interface LoggerOptions {
  /** The service name, written as `service` on every line. */
  service: string;
  /** pino level; default `info`. */
  level?: Level | 'silent';
  /** Paths to censor (pino redact syntax). Required: pass `DEFAULT_REDACT_PATHS` or your own list. */
  redact: readonly string[];
  /**
   * Where lines go; default stdout through a 16 KiB buffer flushed every 250 ms and at exit, since one
   * write per line costs more than the line itself. Tests pass a stream to read lines back.
   */
  destination?: DestinationStream;
}

const buffered = new Set<BufferedDestination>();

/**
 * stdout through an in-memory buffer (see `bufferedDestination`), with one exit hook flushing every such
 * destination: a synchronous write at exit, never an asynchronous one, so a process whose stdout reader has
 * gone still exits on SIGTERM.
 */
function bufferedStdout(): BufferedDestination {
  const destination = bufferedDestination(1);
  if (buffered.size === 0) {
    process.on('exit', () => {
      for (const pending of buffered) pending.flushSync();
    });
  }
  buffered.add(destination);
  return destination;
}

export const LOGGER_DEFAULTS = { level: 'info', censor: '[REDACTED]' } as const;

const LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

/**
 * Adds `trace_id` and `span_id` of the active span to a log line. Lines written outside any request or
 * task (no valid span context) get nothing, so startup lines stay clean.
 */
export function traceMixin(): object {
  // pino merges the log call's object into what this returns, so it must be a fresh object each time.
  const span = trace.getSpan(context.active());
  if (span === undefined) return {};
  const spanContext = span.spanContext();
  if (spanContext.traceId === '00000000000000000000000000000000') return {};
  return { trace_id: spanContext.traceId, span_id: spanContext.spanId };
}

// What the logger's own mixin answers for a line that names its trace and span itself (the access line does):
// nothing to add, so no context lookup, no object and no merge.
const NO_FIELDS: object = Object.freeze({});

function loggerMixin(mergeObject: object): object {
  const line = mergeObject as { trace_id?: unknown; span_id?: unknown };
  return line.trace_id !== undefined && line.span_id !== undefined ? NO_FIELDS : traceMixin();
}

// pino's default strategy, Object.assign(mixin, line), except for a line the mixin had nothing to add to.
function mergeMixin(mergeObject: object, mixinObject: object): object {
  return mixinObject === NO_FIELDS ? mergeObject : Object.assign(mixinObject, mergeObject);
}

interface RequestLike {
  id?: unknown;
  method?: unknown;
  url?: unknown;
  routeOptions?: { url?: unknown };
}

/**
 * fastify's default `req` serializer writes the full URL, query string included, where tokens and keys
 * often travel; this one keeps only the path.
 */
function serializeRequest(request: RequestLike): object {
  const url = typeof request.url === 'string' ? request.url : '';
  const query = url.indexOf('?');
  return { id: request.id, method: request.method, path: query === -1 ? url : url.slice(0, query) };
}

function serializeResponse(reply: { statusCode?: unknown }): object {
  return { statusCode: reply.statusCode };
}

/**
 * A pino logger writing JSON lines with the service name, the active trace and span ids, and every
 * configured path redacted. This is pino itself: pass it to Fastify as `loggerInstance`.
 *
 * @example
 * const logger = createLogger({ service: 'orders', redact: DEFAULT_REDACT_PATHS });
 * const app = Fastify({ loggerInstance: logger, disableRequestLogging: true });
 */
export function createLogger(options: LoggerOptions): Logger {
  if (typeof options?.service !== 'string' || options.service.length === 0) {
    throw invalidOptions('logger: service must be a non-empty string');
  }
  if (!Array.isArray(options.redact) || options.redact.some((path) => typeof path !== 'string' || !path)) {
    throw invalidOptions('logger: redact must be an array of non-empty pino paths (pass [] for none)');
  }
  const level = options.level ?? LOGGER_DEFAULTS.level;
  if (!LEVELS.has(level)) throw invalidOptions(`logger: unknown level ${JSON.stringify(level)}`);
  let logger: Logger;
  try {
    logger = pino(
      {
        level,
        base: { service: options.service },
        mixin: loggerMixin,
        mixinMergeStrategy: mergeMixin,
        redact: { paths: [...options.redact], censor: LOGGER_DEFAULTS.censor },
        serializers: { req: serializeRequest, res: serializeResponse, err: pino.stdSerializers.err },
      },
      options.destination ?? bufferedStdout(),
    );
  } catch (error) {
    // pino rejects a malformed redact path when it compiles the list.
    throw invalidOptions(`logger: ${(error as Error).message}`);
  }
  if (hasNestedWildcard(options.redact)) fastWildcardRedaction(logger);
  return logger;
}
