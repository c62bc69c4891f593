import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { context, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logSink } from '../test/support.ts';
import { createLogger } from './logger.ts';
import { startTracing, type Tracing } from './tracing.ts';

const logger = fileURLToPath(new URL('./logger.ts', import.meta.url));

// Regression: with the default destination buffered asynchronously, a process whose stdout reader had gone
// (a log shipper restarted, a test that stopped reading) hung forever on exit instead of exiting.
describe('createLogger default destination', () => {
  it('writes every buffered line before a normal exit', async () => {
    const script = `
      const { createLogger } = await import(${JSON.stringify(logger)});
      const log = createLogger({ service: 'flush', redact: [] });
      log.info('first');
      setTimeout(() => { log.info('second'); process.exit(0); }, 20);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += String(chunk);
    });
    await once(child, 'exit');
    expect(
      out
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line).msg),
    ).toEqual(['first', 'second']);
  });

  // Regression: lines sat in a 4 KiB buffer until it filled, so a quiet service showed nothing for minutes.
  it('reaches stdout within a second while the process keeps running', async () => {
    const script = `
      const { createLogger } = await import(${JSON.stringify(logger)});
      createLogger({ service: 'quiet', redact: [] }).info('one quiet line');
      setTimeout(() => {}, 20_000);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const started = Date.now();
    const outcome = await Promise.race([
      once(child.stdout, 'data').then(([chunk]) => JSON.parse(String(chunk)).msg),
      new Promise<string>((resolve) => setTimeout(() => resolve('nothing after 10 s'), 10_000).unref()),
    ]);
    child.kill('SIGKILL');
    expect(outcome).toBe('one quiet line');
    // The child's start-up (loading pino and this package) comes first; the line follows within the interval.
    expect(Date.now() - started).toBeLessThan(9_000);
  });

  it('lets the process exit after its stdout reader has gone', async () => {
    const script = `
      const { createLogger } = await import(${JSON.stringify(logger)});
      const log = createLogger({ service: 'epipe', redact: [] });
      process.on('SIGTERM', () => {
        for (let i = 0; i < 200; i += 1) log.info({ i }, 'a line written after the reader has gone');
        process.exit(0);
      });
      console.error('ready');
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    await once(child.stderr, 'data');
    child.stdout.destroy();
    child.kill('SIGTERM');
    const outcome = await Promise.race([
      once(child, 'exit').then(([code]) => `exit ${code}`),
      new Promise<string>((resolve) => setTimeout(() => resolve('still running after 10 s'), 10_000).unref()),
    ]);
    child.kill('SIGKILL');
    expect(outcome).toBe('exit 0');
  });
});

describe('createLogger trace ids', () => {
  let tracing: Tracing;
  beforeAll(async () => {
    tracing = await startTracing({ service: 'mixin' });
  });
  afterAll(async () => {
    await tracing.shutdown();
  });

  it("adds the active span's ids to lines that do not name their own, in front of the line's fields", () => {
    const logs = logSink();
    const log = createLogger({ service: 'mixin', redact: [], destination: logs.stream });
    const span = trace.getTracer('t').startSpan('s', { root: true });
    const { traceId, spanId } = span.spanContext();
    context.with(trace.setSpan(ROOT_CONTEXT, span), () => {
      log.info({ a: 1 }, 'plain');
      log.info({ trace_id: 'own-trace', span_id: 'own-span', a: 1 }, 'both given');
      log.info({ a: 1, trace_id: 'own-trace' }, 'trace given');
    });
    log.info({ a: 1 }, 'outside');
    const keys = (index: number) => Object.keys(JSON.parse(logs.text().split('\n')[index] as string));
    expect(logs.lines.map(({ trace_id, span_id, msg }) => ({ trace_id, span_id, msg }))).toEqual([
      { trace_id: traceId, span_id: spanId, msg: 'plain' },
      { trace_id: 'own-trace', span_id: 'own-span', msg: 'both given' },
      { trace_id: 'own-trace', span_id: spanId, msg: 'trace given' },
      { trace_id: undefined, span_id: undefined, msg: 'outside' },
    ]);
    const fields = ['level', 'time', 'service'];
    expect(keys(0)).toEqual([...fields, 'trace_id', 'span_id', 'a', 'msg']);
    expect(keys(1)).toEqual([...fields, 'trace_id', 'span_id', 'a', 'msg']);
    expect(keys(2)).toEqual([...fields, 'trace_id', 'span_id', 'a', 'msg']);
    expect(keys(3)).toEqual([...fields, 'a', 'msg']);
  });
});
