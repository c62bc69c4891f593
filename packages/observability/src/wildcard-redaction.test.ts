import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { logSink } from '../test/support.ts';
import { createLogger, DEFAULT_REDACT_PATHS } from './logger.ts';
import { hasNestedWildcard } from './wildcard-redaction.ts';

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
});
