import { type Context, context, diag, TraceFlags } from '@opentelemetry/api';
import type { ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, Span, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace';

export interface SpanBatcherOptions {
  exporter: SpanExporter;
  /** Spans waiting beyond this are dropped (and reported through diag), never buffered without bound. */
  maxQueueSize: number;
  /** The most spans one export carries. */
  maxExportBatchSize: number;
  /** An export starts as soon as this many spans wait and none is in flight. */
  minExportBatchSize: number;
  /** Fewer spans than that go this long after the first of them was queued. */
  scheduledDelayMs: number;
  /** An export that has not answered by then counts as failed, and the next one may start. */
  exportTimeoutMs: number;
}

/** What the batcher takes from @opentelemetry/core, which tracing.ts loads (as CommonJS) only when it is used. */
export interface SpanBatcherCore {
  suppressTracing(context: Context): Context;
  globalErrorHandler(error: unknown): void;
  ExportResultCode: { SUCCESS: ExportResult['code'] };
}

/**
 * A batching span processor that exports early. OpenTelemetry's BatchSpanProcessor exports when
 * `maxExportBatchSize` (512) spans wait or the delay passes, so under load a sampled span waits for 511
 * others: at 10% sampling that is a tenth of a second at 45,000 requests a second, long enough for V8
 * to copy it through several young-generation collections and promote it to the old generation
 * (bench/RESULTS.md: 75 MiB promoted in 15 s, against 31 without sampled spans). Exporting smaller
 * batches fixes that but caps throughput at one small batch per round trip, since one export is in flight
 * at a time. This one starts an export as soon as `minExportBatchSize` spans wait and none is in flight;
 * spans that arrive meanwhile gather for the next one, up to `maxExportBatchSize`. So a fast collector
 * gets small, frequent batches and a slow one the same large batches as before.
 */
export class SpanBatcher implements SpanProcessor {
  readonly #options: SpanBatcherOptions;
  readonly #core: SpanBatcherCore;
  #queue: ReadableSpan[] = [];
  #exporting: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #dropped = 0;
  #shutdown: Promise<void> | undefined;

  constructor(options: SpanBatcherOptions, core: SpanBatcherCore) {
    this.#options = options;
    this.#core = core;
  }

  onStart(_span: Span, _parentContext: Context): void {}

  onEnd(span: ReadableSpan): void {
    if (this.#shutdown !== undefined) return;
    if ((span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return;
    if (this.#queue.length >= this.#options.maxQueueSize) {
      // The same words as the SDK's processor: alerts and runbooks written for it keep working.
      if (this.#dropped === 0) diag.debug('maxQueueSize reached, dropping spans');
      this.#dropped += 1;
      return;
    }
    if (this.#dropped > 0) {
      diag.warn(`Dropped ${this.#dropped} spans because maxQueueSize reached`);
      this.#dropped = 0;
    }
    this.#queue.push(span);
    this.#schedule();
  }

  /** Waits for the export in flight, then exports everything queued. */
  async forceFlush(): Promise<void> {
    this.#clearTimer();
    while (this.#exporting !== undefined || this.#queue.length > 0) {
      await (this.#exporting ?? this.#exportBatch());
    }
  }

  shutdown(): Promise<void> {
    this.#shutdown ??= (async () => {
      await this.forceFlush();
      await this.#options.exporter.shutdown();
    })();
    return this.#shutdown;
  }

  #schedule(): void {
    if (this.#exporting !== undefined) return; // its end schedules what came meanwhile
    if (this.#queue.length >= this.#options.minExportBatchSize) {
      void this.#exportBatch();
      return;
    }
    if (this.#timer !== undefined || this.#queue.length === 0) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#exporting === undefined) void this.#exportBatch();
    }, this.#options.scheduledDelayMs);
    this.#timer.unref();
  }

  #clearTimer(): void {
    if (this.#timer === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Exports up to maxExportBatchSize queued spans; never rejects (failures go to the global handler). */
  #exportBatch(): Promise<void> {
    this.#clearTimer();
    const { maxExportBatchSize, exportTimeoutMs, exporter } = this.#options;
    let spans: ReadableSpan[];
    if (this.#queue.length <= maxExportBatchSize) {
      spans = this.#queue;
      this.#queue = [];
    } else {
      spans = this.#queue.splice(0, maxExportBatchSize);
    }
    const exported = new Promise<void>((resolve) => {
      let settled = false;
      const settle = (error?: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (error !== undefined) this.#core.globalErrorHandler(error);
        resolve();
      };
      const timer = setTimeout(
        () => settle(new Error(`span export timed out after ${exportTimeoutMs} ms`)),
        exportTimeoutMs,
      );
      timer.unref();
      // The exporter's own requests must not be traced (an instrumented HTTP client would trace itself).
      context.with(this.#core.suppressTracing(context.active()), () => {
        try {
          exporter.export(spans, (result) => {
            settle(
              result.code === this.#core.ExportResultCode.SUCCESS
                ? undefined
                : (result.error ?? new Error('span export failed')),
            );
          });
        } catch (error) {
          settle(error);
        }
      });
    }).then(() => {
      this.#exporting = undefined;
      this.#schedule();
    });
    this.#exporting = exported;
    return exported;
  }
}
