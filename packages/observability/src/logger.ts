import { tracingChannel } from 'node:diagnostics_channel';
import { context, trace } from '@opentelemetry/api';
import pino, { type DestinationStream, type Level, type Logger } from 'pino';
import { invalidOptions } from './errors.ts';
import { type BufferedDestination, bufferedDestination } from './stdout-destination.ts';
import {
  FAST_WILDCARD_STRINGIFIERS,
  hasNestedWildcard,
  installStringifiers,
  type ValueRedactor,
} from './wildcard-redaction.ts';

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
   * Given every object a line writes (a field's value after pino's serializers, a child logger's binding,
   * at the top of the line: a string or number field is not passed), returns what to write instead: pass
   * `redactSecrets` from @rampart/security to censor secret names at any depth (`{ body: { user: {
   * password } } }`), where pino's paths reach only as deep as they are written and each wildcard level
   * costs about 30 µs a line. A field's own name is matched by `redact` paths only (`pinoRedactPaths`
   * lists the top-level spellings). Not applied to a child logger given its own `redact`.
   */
  redactValue?: ValueRedactor;
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
  if (options.redactValue !== undefined && typeof options.redactValue !== 'function') {
    throw invalidOptions(
      'logger: redactValue must be a function (e.g. redactSecrets from @rampart/security)',
    );
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
  const installed = installStringifiers(logger, {
    nestedWildcard: hasNestedWildcard(options.redact),
    redactValue: options.redactValue,
  });
  // Without the fast path lines are only slower; without redactValue secrets would be written.
  if (!installed && options.redactValue !== undefined) {
    throw invalidOptions('logger: redactValue needs the pino version this package was built with');
  }
  CREATED.add(logger);
  return logger;
}

const CREATED = new WeakSet<Logger>();

/** An access line's fields, every string already known to need no JSON escaping (see `isPlainJsonText`). */
export interface AccessLineFields {
  traceId: string;
  spanId: string;
  /** `,"method":"GET","route":"/users/:id"`: built once per route. */
  methodAndRoute: string;
  status: number;
  durationMs: number;
}

/**
 * Whether `"` + text + `"` is exactly how pino writes `text` (its own escaper and JSON.stringify agree on it):
 * no quote, backslash, control character or surrogate, and short of pino's 100-unit JSON.stringify cut-off.
 */
export function isPlainJsonText(text: string): boolean {
  if (text.length > 100) return false;
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (code < 0x20 || code === 0x22 || code === 0x5c || (code >= 0xd800 && code <= 0xdfff)) return false;
  }
  return true;
}

const ACCESS_KEYS = ['trace_id', 'span_id', 'method', 'route', 'status', 'duration_ms'] as const;
const ACCESS_MESSAGE = 'request completed';
const asJsonChannel = tracingChannel('pino_asJson');

/**
 * Writes the observability plugin's access line for a request logged by `log` (a child of `root`) without
 * pino's general path: the same bytes pino writes for
 * `log.info({ trace_id, span_id, method, route, status, duration_ms }, 'request completed')` (tests hold
 * the two to byte equality), at a fraction of the cost, since every field's type and shape is known here and
 * pino works each one out again on every line (about 2 µs of a request in bench/). Only for loggers made
 * by `createLogger` (or their children, as fastify.log is), whose options are known: undefined for any
 * other. `root` is the logger every request's `log` descends from; per line the writer answers false,
 * and writes nothing, whenever `log` could write something else: a child with its own serializers,
 * redaction, formatters, hooks, mixin or message prefix, an `info` that is not pino's own (a wrapper),
 * a stream that wants pino's metadata, or a subscriber on pino's `pino_asJson` tracing channel. The caller
 * then logs through pino as usual.
 */
export function accessLineWriter(
  root: Logger,
): ((log: Logger, line: AccessLineFields) => boolean) | undefined {
  // pino's children inherit from their parent: fastify.log is such a child of the logger it was given.
  let made = false;
  for (let logger: object | null = root; logger !== null && !made; logger = Object.getPrototypeOf(logger)) {
    made = CREATED.has(logger as Logger);
  }
  if (!made) return undefined;
  const symbols = pino.symbols as unknown as Record<string, symbol>;
  const read = (logger: Logger, name: string): unknown =>
    (logger as unknown as Record<symbol, unknown>)[symbols[name] as symbol];
  const stringifiers = read(root, 'stringifiersSym') as Record<string | symbol, unknown> | undefined;
  const serializers = read(root, 'serializersSym') as Record<string, unknown> | undefined;
  const formatters = read(root, 'formattersSym') as { log?: unknown } | undefined;
  const hooks = read(root, 'hooksSym') as { logMethod?: unknown; streamWrite?: unknown } | undefined;
  const mixin = read(root, 'mixinSym');
  const wildcard = stringifiers?.[symbols.wildcardFirstSym as symbol];
  const eligible =
    stringifiers !== undefined &&
    serializers !== undefined &&
    formatters !== undefined &&
    hooks !== undefined &&
    formatters.log === undefined &&
    hooks.logMethod === undefined &&
    hooks.streamWrite === undefined &&
    mixin === loggerMixin &&
    read(root, 'mixinMergeStrategySym') === mergeMixin &&
    read(root, 'messageKeySym') === 'msg' &&
    !read(root, 'nestedKeySym') &&
    (wildcard === undefined || FAST_WILDCARD_STRINGIFIERS.has(wildcard as object)) &&
    [...ACCESS_KEYS, 'msg'].every((key) => stringifiers[key] === undefined && serializers[key] === undefined);
  if (!eligible) return undefined;
  const kStringifiers = symbols.stringifiersSym as symbol;
  const kSerializers = symbols.serializersSym as symbol;
  const kFormatters = symbols.formattersSym as symbol;
  const kHooks = symbols.hooksSym as symbol;
  const kMixin = symbols.mixinSym as symbol;
  const kPrefix = symbols.msgPrefixSym as symbol;
  const kStream = symbols.streamSym as symbol;
  const kLevels = symbols.lsCacheSym as symbol;
  const kTime = symbols.timeSym as symbol;
  const kBindings = symbols.chindingsSym as symbol;
  const kEnd = symbols.endSym as symbol;
  const kMetadata = Symbol.for('pino.metadata');
  const info = pino.levels.values.info as number;
  const message = `,"msg":"${ACCESS_MESSAGE}"`;
  return (log, line) => {
    const state = log as unknown as Record<symbol, unknown>;
    if (
      state[kStringifiers] !== stringifiers ||
      state[kSerializers] !== serializers ||
      // A child always gets its own formatters object; only a log formatter changes the fields.
      (state[kFormatters] as { log?: unknown } | undefined)?.log !== undefined ||
      state[kHooks] !== hooks ||
      state[kMixin] !== mixin ||
      state[kPrefix] !== undefined ||
      asJsonChannel.hasSubscribers ||
      !Number.isFinite(line.durationMs) ||
      !Number.isInteger(line.status)
    ) {
      return false;
    }
    const stream = state[kStream] as DestinationStream & { [key: symbol]: unknown };
    if (stream[kMetadata] === true) return false;
    // Only pino's own info(): its level methods are named LOG, or noop below the level (nothing to write,
    // nothing for the caller to do). A wrapper someone put on request.log has to run.
    const method = (log.info as { name?: string }).name;
    if (method === 'noop' && !log.isLevelEnabled('info')) return true;
    if (method !== 'LOG' || !log.isLevelEnabled('info')) return false;
    stream.write(
      `${(state[kLevels] as Record<number, string>)[info]}${(state[kTime] as () => string)()}${state[kBindings]}` +
        `,"trace_id":"${line.traceId}","span_id":"${line.spanId}"${line.methodAndRoute}` +
        `,"status":${line.status},"duration_ms":${line.durationMs}${message}${state[kEnd]}`,
    );
    return true;
  };
}
