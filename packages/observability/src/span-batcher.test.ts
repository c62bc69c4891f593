import { context, DiagLogLevel, diag, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import * as core from '@opentelemetry/core';
import {
  AlwaysOnSampler,
  type ReadableSpan,
  SamplingDecision,
  type SpanExporter,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SpanBatcher, type SpanBatcherOptions } from './span-batcher.ts';

type Result = Parameters<Parameters<SpanExporter['export']>[1]>[0];

/** Stands in for the collector: records each batch; `hold` keeps exports open until released. */
function recordingExporter() {
  const batches: string[][] = [];
  const pending: Array<(result: Result) => void> = [];
  let hold = false;
  let answer: Result = { code: core.ExportResultCode.SUCCESS };
  const suppressed: boolean[] = [];
  let shutdowns = 0;
  const exporter: SpanExporter = {
    export(spans: ReadableSpan[], done: (result: Result) => void) {
      batches.push(spans.map((span) => span.name));
      suppressed.push(core.isTracingSuppressed(context.active()));
      if (hold) pending.push(done);
      else done(answer);
    },
    async shutdown() {
      shutdowns += 1;
    },
  };
  return {
    exporter,
    batches,
    suppressed,
    shutdowns: () => shutdowns,
    hold() {
      hold = true;
    },
    /** Answers every held export, and stops holding. */
    release() {
      hold = false;
      for (const done of pending.splice(0)) done(answer);
    },
    answerWith(result: Result) {
      answer = result;
    },
    held: () => pending.length,
  };
}

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function setup(options: Partial<SpanBatcherOptions> = {}, sampled = true) {
  const recording = recordingExporter();
  const batcher = new SpanBatcher(
    {
      exporter: recording.exporter,
      maxQueueSize: 100,
      maxExportBatchSize: 8,
      minExportBatchSize: 4,
      minExportIntervalMs: 1,
      scheduledDelayMs: 60_000,
      exportTimeoutMs: 60_000,
      ...options,
    },
    core,
  );
  const provider = new TracerProvider({
    // RECORD without SAMPLED: the span is recorded and ended, but must not be exported.
    sampler: sampled
      ? new AlwaysOnSampler()
      : { shouldSample: () => ({ decision: SamplingDecision.RECORD }), toString: () => 'record-only' },
    spanProcessors: [batcher],
  });
  // Released first: a test that failed while holding an export must not hang the shutdown.
  cleanups.push(() => {
    recording.release();
    return provider.shutdown();
  });
  const tracer: Tracer = provider.getTracer('test');
  let n = 0;
  const end = (count: number) => {
    for (let i = 0; i < count; i++) tracer.startSpan(`s${n++}`).end();
  };
  return { ...recording, batcher, end };
}

const names = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `s${from + i}`);

describe('SpanBatcher', () => {
  it('exports as soon as minExportBatchSize spans wait, without waiting for the delay', async () => {
    // A context manager, as tracing runs with: without one, context.with cannot suppress anything.
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    cleanups.push(() => context.disable());
    const { batches, end, suppressed } = setup();
    end(3);
    await Promise.resolve();
    expect(batches).toEqual([]);
    end(1);
    await vi.waitFor(() => expect(batches).toEqual([names(0, 4)]));
    // The exporter's own requests are not traced.
    expect(suppressed).toEqual([true]);
  });

  it('gathers the spans that arrive during an export for the next one, up to maxExportBatchSize', async () => {
    const t = setup();
    t.hold();
    t.end(4);
    await vi.waitFor(() => expect(t.held()).toBe(1));
    t.end(11); // 11 wait while the first export is in flight: no second export starts meanwhile
    await new Promise((resolve) => setImmediate(resolve));
    expect(t.batches).toEqual([names(0, 4)]);
    t.release();
    // Then a full batch of 8 at once; the 3 left are fewer than the minimum, so they wait for the delay.
    await vi.waitFor(() => expect(t.batches).toEqual([names(0, 4), names(4, 12)]));
    await new Promise((resolve) => setImmediate(resolve));
    expect(t.batches).toHaveLength(2);
    await t.batcher.forceFlush();
    expect(t.batches).toEqual([names(0, 4), names(4, 12), names(12, 15)]);
  });

  it('spaces exports by minExportIntervalMs, unless a full batch waits', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    cleanups.push(() => vi.useRealTimers());
    const { batches, end } = setup({ minExportIntervalMs: 10 });
    end(4);
    await vi.advanceTimersByTimeAsync(0);
    expect(batches).toEqual([names(0, 4)]);
    end(5); // enough for an export, but the last one began less than 10 ms ago
    await vi.advanceTimersByTimeAsync(9);
    expect(batches).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(batches).toEqual([names(0, 4), names(4, 9)]);
    end(8); // a full batch does not wait for the interval
    await vi.advanceTimersByTimeAsync(0);
    expect(batches).toEqual([names(0, 4), names(4, 9), names(9, 17)]);
  });

  it('exports fewer spans than the minimum after scheduledDelayMs', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    cleanups.push(() => vi.useRealTimers());
    const { batches, end } = setup({ scheduledDelayMs: 2_000 });
    end(2);
    await vi.advanceTimersByTimeAsync(1_000);
    end(1); // a later span does not push the deadline back: a steady trickle still goes out
    await vi.advanceTimersByTimeAsync(999);
    expect(batches).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(batches).toEqual([names(0, 3)]);
  });

  it('never queues unsampled spans', async () => {
    const { batches, end, batcher } = setup({}, false);
    end(10);
    await batcher.forceFlush();
    expect(batches).toEqual([]);
  });

  it('drops spans past maxQueueSize, says so through diag, and exports the rest', async () => {
    const messages: string[] = [];
    const record = (message: string) => {
      if (message.includes('maxQueueSize')) messages.push(message);
    };
    diag.setLogger(
      { error: record, warn: record, info: record, debug: record, verbose: record },
      DiagLogLevel.DEBUG,
    );
    cleanups.push(() => diag.disable());
    const t = setup({ maxQueueSize: 10 });
    t.hold();
    t.end(4); // in flight
    await vi.waitFor(() => expect(t.held()).toBe(1));
    t.end(11); // 10 queued, the 11th dropped: the first drop is reported at once
    expect(messages).toEqual(['maxQueueSize reached, dropping spans']);
    t.release();
    await vi.waitFor(() => expect(t.batches.flat()).toHaveLength(12));
    t.end(1); // the next span that fits reports how many were lost
    expect(messages).toEqual([
      'maxQueueSize reached, dropping spans',
      'Dropped 1 spans because maxQueueSize reached',
    ]);
    await t.batcher.forceFlush();
    expect(t.batches.flat()).toEqual([...names(0, 14), 's15']);
  });

  it('goes on exporting after a failed export and after one that never answers', async () => {
    const errors: unknown[] = [];
    core.setGlobalErrorHandler((error) => errors.push(error));
    cleanups.push(() => core.setGlobalErrorHandler(core.loggingErrorHandler()));
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    cleanups.push(() => vi.useRealTimers());
    const t = setup({ exportTimeoutMs: 5_000, minExportIntervalMs: 1 });
    t.answerWith({ code: core.ExportResultCode.FAILED, error: new Error('collector said no') });
    t.end(4);
    await vi.advanceTimersByTimeAsync(0);
    expect(errors).toHaveLength(1);
    expect(String(errors[0])).toContain('collector said no');
    t.answerWith({ code: core.ExportResultCode.SUCCESS });
    t.hold(); // the next export hangs
    t.end(4);
    await vi.advanceTimersByTimeAsync(1); // the minimum interval since the first export
    expect(t.held()).toBe(1);
    t.end(4); // waits behind the hanging export...
    await vi.advanceTimersByTimeAsync(4_999);
    expect(t.batches).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(String(errors[1])).toContain('timed out after 5000 ms');
    // ...which counts as failed at its deadline, so these go out.
    await vi.waitFor(() => expect(t.batches).toHaveLength(3));
    expect(t.batches[2]).toEqual(names(8, 12));
    // The late answer of the timed-out export changes nothing: no second report, no extra export.
    t.release();
    await vi.advanceTimersByTimeAsync(0);
    expect(errors).toHaveLength(2);
    expect(t.batches).toHaveLength(3);
  });

  it('tells onExportFailure how many spans a failed export lost, and goes on when it throws', async () => {
    const errors: unknown[] = [];
    core.setGlobalErrorHandler((error) => errors.push(error));
    cleanups.push(() => core.setGlobalErrorHandler(core.loggingErrorHandler()));
    const failures: Array<[string, number]> = [];
    const t = setup({
      onExportFailure(error, spans) {
        failures.push([String(error), spans]);
        throw new Error('reporter bug');
      },
    });
    t.answerWith({ code: core.ExportResultCode.FAILED, error: new Error('collector said no') });
    t.end(4);
    await vi.waitFor(() => expect(failures).toEqual([['Error: collector said no', 4]]));
    // The global handler still hears of the failure, then of the reporter's own error.
    expect(errors.map(String)).toEqual(['Error: collector said no', 'Error: reporter bug']);
    t.answerWith({ code: core.ExportResultCode.SUCCESS });
    t.end(4);
    await vi.waitFor(() => expect(t.batches).toEqual([names(0, 4), names(4, 8)]));
  });

  it('reports an exporter that throws, and goes on', async () => {
    const errors: unknown[] = [];
    core.setGlobalErrorHandler((error) => errors.push(error));
    cleanups.push(() => core.setGlobalErrorHandler(core.loggingErrorHandler()));
    const t = setup();
    const real = t.exporter.export.bind(t.exporter);
    let calls = 0;
    t.exporter.export = (spans, done) => {
      calls += 1;
      if (calls === 1) throw new Error('exporter bug');
      real(spans, done);
    };
    t.end(4);
    await vi.waitFor(() => expect(errors).toHaveLength(1));
    expect(String(errors[0])).toContain('exporter bug');
    t.end(4);
    await vi.waitFor(() => expect(t.batches).toEqual([names(4, 8)]));
  });

  it('forceFlush ends under steady traffic: spans ending during it are left to the next export', async () => {
    const t = setup();
    const real = t.exporter.export.bind(t.exporter);
    // Every export answers on the next turn, after 8 more spans ended: traffic that never stops.
    t.exporter.export = (spans, done) => {
      real(spans, () => {});
      setImmediate(() => {
        t.end(8);
        done({ code: core.ExportResultCode.SUCCESS });
      });
    };
    t.end(3);
    await t.batcher.forceFlush();
    expect(t.batches[0]).toEqual(names(0, 3));
    expect(t.batches.length).toBeLessThan(5);
  });

  it('shutdown sends the queued batches side by side: a hung collector costs one export timeout', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    cleanups.push(() => vi.useRealTimers());
    const t = setup({ exportTimeoutMs: 5_000 });
    t.hold(); // never answered
    t.end(20); // 4 in flight (the first 4 start an export), 16 queued: two batches of 8
    let done = false;
    const stopping = t.batcher.shutdown().then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(t.batches).toEqual([names(0, 4), names(4, 12), names(12, 20)]);
    await vi.advanceTimersByTimeAsync(4_999);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await stopping;
    expect(t.shutdowns()).toBe(1);
  });

  it('forceFlush waits for the export in flight; shutdown flushes, shuts the exporter, then ignores spans', async () => {
    const t = setup();
    t.hold();
    t.end(5);
    await vi.waitFor(() => expect(t.held()).toBe(1));
    let flushed = false;
    const flushing = t.batcher.forceFlush().then(() => {
      flushed = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(flushed).toBe(false);
    t.release();
    await flushing;
    expect(t.batches).toEqual([names(0, 4), names(4, 5)]);
    t.end(2);
    await t.batcher.shutdown();
    expect(t.batches.flat()).toEqual(names(0, 7));
    expect(t.shutdowns()).toBe(1);
    t.end(20);
    await t.batcher.shutdown();
    expect(t.batches.flat()).toHaveLength(7);
    expect(t.shutdowns()).toBe(1);
  });
});
