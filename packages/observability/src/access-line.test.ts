import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import Fastify, { LogController } from 'fastify';
import pino, { type Logger } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logSink } from '../test/support.ts';
import { observability } from './fastify-plugin.ts';
import {
  type AccessLineFields,
  accessLineWriter,
  createLogger,
  DEFAULT_REDACT_PATHS,
  isPlainJsonText,
} from './logger.ts';
import { createMetrics } from './metrics.ts';
import { startTracing, type Tracing } from './tracing.ts';

const FIELDS: AccessLineFields = {
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
  spanId: '00f067aa0ba902b7',
  methodAndRoute: ',"method":"GET","route":"/users/:id"',
  status: 200,
  durationMs: 0.123,
};

/** A logger made by createLogger over a sink, with its lines as written. */
function logged(redact: readonly string[], redactValue?: (value: object) => unknown) {
  const sink = logSink();
  const logger = createLogger({
    service: 'svc',
    redact,
    destination: sink.stream,
    ...(redactValue ? { redactValue } : {}),
  });
  const raw = () => sink.text().split('\n').filter(Boolean);
  return { logger, raw };
}

/** What pino itself writes for the access line on `log`. */
function throughPino(log: Logger, fields: AccessLineFields = FIELDS): void {
  log.info(
    {
      trace_id: fields.traceId,
      span_id: fields.spanId,
      method: 'GET',
      route: '/users/:id',
      status: fields.status,
      duration_ms: fields.durationMs,
    },
    'request completed',
  );
}

const withoutTime = (line: string | undefined) => line?.replace(/,"time":\d+/, ',"time":0');

describe('accessLineWriter', () => {
  // A redactValue that would censor the whole of any object it were given: the access line has none.
  const censorAll = () => '[REDACTED]';
  const redactLists: Array<[string, readonly string[], ((value: object) => unknown)?]> = [
    ['no redaction', []],
    ['the default paths', DEFAULT_REDACT_PATHS],
    ['a nested wildcard path', [...DEFAULT_REDACT_PATHS, '*.password']],
    ['the default paths and a redactValue', DEFAULT_REDACT_PATHS, censorAll],
    ['a nested wildcard path and a redactValue', [...DEFAULT_REDACT_PATHS, '*.password'], censorAll],
  ];
  for (const [name, redact, redactValue] of redactLists) {
    it(`writes the bytes pino writes for the access line (${name})`, () => {
      const { logger, raw } = logged(redact, redactValue);
      const write = accessLineWriter(logger);
      expect(write).toBeTypeOf('function');
      // As Fastify makes request.log, plus a binding that needs escaping.
      for (const child of [
        logger.child({ reqId: 'req-1' }),
        logger.child({ reqId: 'req-2', tenant: 'a"b\\c' }),
      ]) {
        for (const fields of [
          FIELDS,
          { ...FIELDS, status: 404, durationMs: 12 },
          { ...FIELDS, durationMs: 1e-7 },
        ]) {
          expect(write?.(child, fields)).toBe(true);
          throughPino(child, fields);
          const [fast, slow] = raw().slice(-2);
          expect(withoutTime(fast)).toBe(withoutTime(slow));
        }
      }
    });
  }

  it('is only for loggers createLogger made', () => {
    expect(accessLineWriter(pino({ enabled: true }, logSink().stream))).toBeUndefined();
    const made = createLogger({ service: 'svc', redact: [], destination: logSink().stream });
    // fastify.log is a child of the logger Fastify is given.
    expect(accessLineWriter(made.child({}, { serializers: { req: () => ({}) } }))).toBeTypeOf('function');
    // A redact path that can reach one of the line's own fields (or every field) leaves the line to pino.
    for (const redact of [['route'], ['trace_id'], ['msg'], ['*'], ['status.x']]) {
      const custom = createLogger({ service: 'svc', redact, destination: logSink().stream });
      expect(accessLineWriter(custom), redact[0]).toBeUndefined();
    }
  });

  it('leaves to pino, writing nothing, a child that could write something else', () => {
    const { logger, raw } = logged(DEFAULT_REDACT_PATHS);
    const write = accessLineWriter(logger) as NonNullable<ReturnType<typeof accessLineWriter>>;
    const children = [
      logger.child({ reqId: 'r' }, { serializers: { route: (route: string) => route.toUpperCase() } }),
      logger.child({ reqId: 'r' }, { redact: ['route'] }),
      logger.child({ reqId: 'r' }, { msgPrefix: '[x] ' }),
      logger.child({ reqId: 'r' }, { formatters: { log: (line: object) => ({ ...line, extra: 1 }) } }),
    ];
    const wrapped = logger.child({ reqId: 'r' });
    wrapped.info = (() => {}) as typeof wrapped.info;
    children.push(wrapped);
    for (const child of children) expect(write(child, FIELDS)).toBe(false);
    expect(write(logger.child({ reqId: 'r' }), { ...FIELDS, durationMs: Number.NaN })).toBe(false);
    expect(write(logger.child({ reqId: 'r' }), { ...FIELDS, status: Number.POSITIVE_INFINITY })).toBe(false);
    expect(write(logger.child({ reqId: 'r' }), { ...FIELDS, status: '200' as unknown as number })).toBe(
      false,
    );
    const metadata = pino({}, pino.multistream([{ stream: logSink().stream }]));
    expect(write(metadata, FIELDS)).toBe(false);
    const onStart = () => {};
    subscribe('tracing:pino_asJson:start', onStart);
    try {
      expect(write(logger.child({ reqId: 'r' }), FIELDS)).toBe(false);
    } finally {
      unsubscribe('tracing:pino_asJson:start', onStart);
    }
    expect(raw()).toEqual([]);
  });

  it('writes nothing below the logger level, as pino does', () => {
    const { logger, raw } = logged([]);
    const write = accessLineWriter(logger) as NonNullable<ReturnType<typeof accessLineWriter>>;
    const quiet = logger.child({ reqId: 'r' }, { level: 'warn' });
    expect(write(quiet, FIELDS)).toBe(true);
    expect(raw()).toEqual([]);
  });

  it('knows which texts pino writes between plain quotes', () => {
    for (const text of ['GET', '/users/:id', 'unmatched', '/straße/ü', ''])
      expect(isPlainJsonText(text)).toBe(true);
    for (const text of ['/a"b', '/a\\b', '/a\nb', '/\ud800', 'x'.repeat(101)])
      expect(isPlainJsonText(text)).toBe(false);
  });
});

describe('the observability plugin and the access line', () => {
  let tracing: Tracing;
  beforeAll(async () => {
    tracing = await startTracing({ service: 'svc', exporter: 'none' });
  });
  afterAll(async () => {
    await tracing.shutdown();
  });

  it("writes plain requests' access lines itself, and errors, odd routes and wrapped loggers through pino", async () => {
    const sink = logSink();
    const loggerInstance = createLogger({
      service: 'svc',
      redact: DEFAULT_REDACT_PATHS,
      destination: sink.stream,
    });
    const wrappedCalls: unknown[] = [];
    const app = Fastify({
      loggerInstance,
      logController: new LogController({ disableRequestLogging: true }),
      // request.log as Fastify makes it; for /wrapped, with info() wrapped (the wrapper must still run).
      childLoggerFactory: (logger, bindings, options, raw) => {
        const child = logger.child(bindings, options);
        if (raw.url !== '/wrapped') return child;
        const info = child.info.bind(child);
        child.info = ((line: { route?: unknown }, ...rest: []) => {
          wrappedCalls.push(line.route);
          return info(line, ...rest);
        }) as typeof child.info;
        return child;
      },
    });
    await app.register(observability, { metrics: createMetrics({ service: 'svc', defaultMetrics: false }) });
    app.get('/plain/:id', async () => ({ ok: true }));
    app.get('/odd"route', async () => ({ ok: true }));
    app.get('/wrapped', async () => ({ ok: true }));
    app.get('/broken', async () => {
      throw new Error('boom');
    });
    app.get('/refused', async (_request, reply) => {
      const error = Object.assign(new Error('no'), { statusCode: 409, code: 'CONFLICT' });
      return reply.send(error);
    });
    // pino renders every line it writes with its asJson: wrapped on the root, it counts the access lines
    // that went through pino (children inherit it).
    const throughPino: unknown[] = [];
    const kAsJson = (pino.symbols as unknown as Record<string, symbol>).asJsonSym as symbol;
    const state = loggerInstance as unknown as Record<symbol, (...args: unknown[]) => string>;
    const asJson = state[kAsJson] as (...args: unknown[]) => string;
    state[kAsJson] = function (this: unknown, line: unknown, message: unknown, ...rest: unknown[]) {
      if (message === 'request completed') throughPino.push((line as { route?: unknown }).route);
      return asJson.call(this, line, message, ...rest);
    };
    for (const url of ['/plain/1', '/odd"route', '/wrapped', '/broken', '/refused', '/plain/2']) {
      await app.inject({ url });
    }
    await app.close();
    const access = sink.lines.filter((line) => line.msg === 'request completed');
    expect(access.map((line) => [line.route, line.status, line.error_type])).toEqual([
      ['/plain/:id', 200, undefined],
      ['/odd"route', 200, undefined],
      ['/wrapped', 200, undefined],
      ['/broken', 500, undefined],
      ['/refused', 409, 'CONFLICT'],
      ['/plain/:id', 200, undefined],
    ]);
    expect(access.every((line) => typeof line.trace_id === 'string' && typeof line.reqId === 'string')).toBe(
      true,
    );
    expect(wrappedCalls).toEqual(['/wrapped']);
    expect(throughPino).toEqual(['/odd"route', '/wrapped', '/broken', '/refused']);
  });
});
