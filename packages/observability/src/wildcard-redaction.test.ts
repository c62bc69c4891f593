import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { logSink } from '../test/support.ts';
import { isObservabilityError } from './errors.ts';
import { createLogger, DEFAULT_REDACT_PATHS } from './logger.ts';
import { hasNestedWildcard } from './wildcard-redaction.ts';

/**
 * A deep scrubber as a service passes one (`redactSecrets` from @rampart/security, which this package does not
 * depend on): `password` censored at any depth, a copy on the way to each change. Counts its calls.
 */
function scrubber() {
  const seen: unknown[] = [];
  const scrub = (value: unknown): unknown => {
    if (typeof value !== 'object' || value === null) return value;
    if (Array.isArray(value)) return value.map(scrub);
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value))
      out[key] = key === 'password' ? '[REDACTED]' : scrub(inner);
    return out;
  };
  return {
    seen,
    redactValue: (value: object): unknown => {
      seen.push(value);
      return scrub(value);
    },
  };
}

const PATHS = [...DEFAULT_REDACT_PATHS, '["password"]', '*["password"]', '*.apiKey', "*['client_secret']"];

// Every shape a value can take on a line or in bindings: the check in front of pino's redactor must
// change nothing pino itself would write.
function writeLines(logger: pino.Logger): void {
  const circular: Record<string, unknown> = { name: 'loop' };
  circular.self = circular;
  logger.info({ method: 'GET', status: 200, duration_ms: 1.5, ok: true, big: 10n }, 'primitives only');
  logger.info({ user: { name: 'ada', password: 'hunter2' }, password: 'top' }, 'nested and top-level');
  logger.info({ list: [{ password: 'in-array' }], nothing: null, circular }, 'arrays, null, circular');
  logger.info({ call: { apiKey: 'k', client_secret: 's', keep: 1 } }, 'two keys in one object');
  logger.info({ deep: { inner: { password: 'two levels down: not a *.key path' } } }, 'deep');
  logger.info({ err: Object.assign(new Error('boom'), { password: 'on-error' }) }, 'error');
  logger.info({ headers: { authorization: 'Bearer x', password: 'h' } }, 'exact path and wildcard');
  logger.child({ ctx: { password: 'bound' }, reqId: 'req-1' }).info({ n: 1 }, 'child bindings');
  logger.info('%j interpolated', { password: 'fmt' });
}

// The two loggers are called from different lines, so stacks differ in their line numbers only.
function comparable(line: Record<string, unknown>) {
  const { time: _time, ...rest } = line;
  return JSON.parse(JSON.stringify(rest).replace(/\.test\.ts:\d+:\d+/g, '.test.ts'));
}

describe('wildcard redaction fast path', () => {
  it('writes the same lines as pino with the same options', () => {
    const ours = logSink();
    writeLines(createLogger({ service: 'svc', redact: PATHS, destination: ours.stream }));
    const plain = logSink();
    // What createLogger configured before the fast path, without it.
    const reference = pino(
      {
        base: { service: 'svc' },
        redact: { paths: PATHS, censor: '[REDACTED]' },
        serializers: {
          req: (request: { id?: unknown; method?: unknown; url?: string }) => ({
            id: request.id,
            method: request.method,
            path: (request.url ?? '').split('?')[0],
          }),
          res: (reply: { statusCode?: unknown }) => ({ statusCode: reply.statusCode }),
          err: pino.stdSerializers.err,
        },
      },
      plain.stream,
    );
    writeLines(reference);
    expect(ours.lines.map(comparable)).toEqual(plain.lines.map(comparable));
    expect(ours.text()).not.toContain('hunter2');
    expect(ours.text()).not.toContain('bound');
    expect(ours.lines[1]).toMatchObject({
      user: { name: 'ada', password: '[REDACTED]' },
      password: '[REDACTED]',
    });
    expect(ours.lines[3]).toMatchObject({
      call: { apiKey: '[REDACTED]', client_secret: '[REDACTED]', keep: 1 },
    });
  });

  it('is installed (a pino upgrade that moves its stringifiers fails here, not silently in bench/)', () => {
    const logger = createLogger({ service: 'svc', redact: PATHS, destination: logSink().stream });
    const symbols = pino.symbols as unknown as Record<string, symbol>;
    const stringifiers = (logger as unknown as Record<symbol, Record<symbol, { name: string }>>)[
      symbols.stringifiersSym as symbol
    ];
    expect(stringifiers?.[symbols.wildcardFirstSym as symbol]?.name).not.toBe('redact');
  });

  it('applies to paths that start with * and go deeper, and never beside a lone *', () => {
    expect(hasNestedWildcard(['a.b', '*.password', '*["api-key"]'])).toBe(true);
    expect(hasNestedWildcard(['*.a.b'])).toBe(true);
    expect(hasNestedWildcard(['*.password', '*'])).toBe(false);
    expect(hasNestedWildcard(DEFAULT_REDACT_PATHS)).toBe(false);
  });

  it('passes every object a line or a binding writes through redactValue, at any depth, beside the paths', () => {
    const sink = logSink();
    const { redactValue, seen } = scrubber();
    // Only exact paths: the wildcards' one level is redactValue's job now.
    const logger = createLogger({
      service: 'svc',
      redact: DEFAULT_REDACT_PATHS,
      redactValue,
      destination: sink.stream,
    });
    logger.info({ deep: { user: { profile: { password: 'deep-1' } } } }, 'three levels down');
    // `body` and `headers` have stringifiers of their own (exact paths): redactValue runs before them.
    logger.info({ body: { password: 'exact-path', user: { password: 'deep-2' } } }, 'beside an exact path');
    logger.info({ headers: { authorization: 'Bearer exact', nested: { password: 'deep-3' } } }, 'headers');
    logger.info({ list: [{ ok: 1 }, [{ password: 'deep-4' }]] }, 'arrays');
    logger.info({ err: Object.assign(new Error('boom'), { detail: { password: 'deep-5' } }) }, 'error');
    logger.child({ ctx: { a: { password: 'deep-6' } }, reqId: 'r' }).info({ n: 1 }, 'child bindings');
    const text = sink.text();
    for (const secret of [
      'deep-1',
      'deep-2',
      'deep-3',
      'deep-4',
      'deep-5',
      'deep-6',
      'exact-path',
      'Bearer',
    ]) {
      expect(text).not.toContain(secret);
    }
    expect(sink.lines[0]).toMatchObject({ deep: { user: { profile: { password: '[REDACTED]' } } } });
    expect(sink.lines[4]).toMatchObject({
      err: { type: 'Error', message: 'boom', detail: { password: '[REDACTED]' } },
    });
    expect(sink.lines[5]).toMatchObject({ reqId: 'r', ctx: { a: { password: '[REDACTED]' } }, n: 1 });
    // Strings and numbers never reach it: the access line's fields, request ids and messages cost nothing.
    expect(seen.every((value) => typeof value === 'object' && value !== null)).toBe(true);
    logger.child({ reqId: 'req-2' }).info({ status: 200, route: '/x' }, 'flat');
    expect(seen).toHaveLength(6);
  });

  it('keeps a lone * censoring every top-level value with a redactValue', () => {
    const sink = logSink();
    const logger = createLogger({
      service: 'svc',
      redact: ['*'],
      redactValue: scrubber().redactValue,
      destination: sink.stream,
    });
    logger.info({ text: 'visible?', n: 1, nested: { password: 'x' } }, 'all');
    expect(sink.lines[0]).toMatchObject({ text: '[REDACTED]', n: '[REDACTED]', nested: '[REDACTED]' });
  });

  it('refuses a redactValue that is not a function', () => {
    const make = () =>
      createLogger({
        service: 'svc',
        redact: [],
        redactValue: 'redactSecrets' as unknown as (value: object) => unknown,
        destination: logSink().stream,
      });
    expect(make).toThrow(/redactValue must be a function/);
    try {
      make();
    } catch (error) {
      expect(isObservabilityError(error, 'RAMPART_OBSERVABILITY_OPTIONS_INVALID')).toBe(true);
    }
  });
});
