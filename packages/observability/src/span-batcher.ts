import { type Context, context, diag, TraceFlags } from '@opentelemetry/api';
import type { ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, Span, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace';
import type { SpanCounts } from './span-counts.ts';

export interface SpanBatcherOptions {
  exporter: SpanExporter;
  /** Spans waiting beyond this are dropped (and reported through diag), never buffered without bound. */
  maxQueueSize: number;
  /** The most spans one export carries. */
  maxExportBatchSize: number;
  /**
   * An export starts as soon as this many spans wait, none is in flight and `minExportIntervalMs` has passed
   * since the last one started (at once, whatever the interval, when `maxExportBatchSize` wait).
   */
  minExportBatchSize: number;
  /** Keeps a high span rate from turning into many small exports (each has a fixed cost). */
  minExportIntervalMs: number;
  /** Fewer spans than that go this long after the first of them was queued. */
  scheduledDelayMs: number;
  /** An export that has not answered by then counts as failed, and the next one may start. */
  exportTimeoutMs: number;
  /**
   * Told of each failed, throwing or timed-out export and how many spans it carried (they are lost), after
   * OpenTelemetry's global error handler.
   */
  onExportFailure?: (error: unknown, spans: number) => void;
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
 * at a time. This one starts an export as soon as `minExportBatchSize` spans wait, none is in flight and
 * `minExportIntervalMs` has passed since the last began (a full batch goes at once); spans that arrive
 * meanwhile gather for the next one, up to `maxExportBatchSize`. So a fast collector gets small batches, at
 * most about one per interval unless they are full (each export has a fixed cost: at 100% sampling, 64-span
 * exports cost about 10% more CPU per request in bench/), and a slow one the same large batches as before.
 * Unlike the SDK's processor it does not wait for a resource's asynchronous attributes: startTracing builds
 * its resource from plain attributes, so none are ever pending.
 */
export class SpanBatcher implements SpanProcessor {
  readonly #options: SpanBatcherOptions;
  readonly #core: SpanBatcherCore;
  #queue: ReadableSpan[] = [];
  #exporting: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** When the armed timer fires (performance.now() time). */
  #timerDue = 0;
  #lastExportAt = Number.NEGATIVE_INFINITY;
  #dropped = 0;
  #shutdown: Promise<void> | undefined;
  /** Running totals (never reset), read by the `tracing_spans_total` metric. */
  readonly counts: SpanCounts = { exported: 0, failed: 0, dropped: 0 };

  constructor(options: SpanBatcherOptions, core: SpanBatcherCore) {
    if (options.minExportBatchSize > options.maxExportBatchSize) {
      throw new RangeError('SpanBatcher: minExportBatchSize must not exceed maxExportBatchSize');
    }
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
      this.counts.dropped += 1;
      return;
    }
    if (this.#dropped > 0) {
      diag.warn(`Dropped ${this.#dropped} spans because maxQueueSize reached`);
      this.#dropped = 0;
    }
    this.#queue.push(span);
    this.#schedule();
  }

  /**
   * Exports everything queued now, in batches sent side by side (as the SDK's processor does), and waits for
   * them and for the export in flight. Spans ending meanwhile are left to the next export, so a flush under
   * steady traffic still ends, and a shutdown takes one export's time, not one per batch.
   */
  async forceFlush(): Promise<void> {
    this.#clearTimer();
    const { maxExportBatchSize } = this.#options;
    const queued = this.#queue;
    this.#queue = [];
    const sends: Array<Promise<void>> = [];
    if (this.#exporting !== undefined) sends.push(this.#exporting);
    for (let start = 0; start < queued.length; start += maxExportBatchSize) {
      sends.push(this.#send(queued.slice(start, start + maxExportBatchSize)));
    }
    await Promise.all(sends);
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
    const waiting = this.#queue.length;
    if (waiting === 0) return;
    const { minExportBatchSize, maxExportBatchSize, minExportIntervalMs, scheduledDelayMs } = this.#options;
    const now = performance.now();
    const wait =
      waiting >= maxExportBatchSize
        ? 0
        : waiting >= minExportBatchSize
          ? this.#lastExportAt + minExportIntervalMs - now
          : Number.POSITIVE_INFINITY;
    if (wait <= 0) this.#exportBatch();
    else this.#arm(now, Math.min(wait, scheduledDelayMs));
  }

  /** Arms the timer for `delay` from now, unless it is armed to fire sooner. */
  #arm(now: number, delay: number): void {
    if (this.#timer !== undefined) {
      if (this.#timerDue <= now + delay) return;
      clearTimeout(this.#timer);
    }
    this.#timerDue = now + delay;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#exporting === undefined && this.#queue.length > 0) this.#exportBatch();
    }, delay);
    this.#timer.unref();
  }

  #clearTimer(): void {
    if (this.#timer === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Exports up to maxExportBatchSize queued spans as the one export in flight, then schedules the rest. */
  #exportBatch(): void {
    this.#clearTimer();
    this.#lastExportAt = performance.now();
    const { maxExportBatchSize } = this.#options;
    let spans: ReadableSpan[];
    if (this.#queue.length <= maxExportBatchSize) {
      spans = this.#queue;
      this.#queue = [];
    } else {
      spans = this.#queue.splice(0, maxExportBatchSize);
    }
    this.#exporting = this.#send(spans).then(() => {
      this.#exporting = undefined;
      this.#schedule();
    });
  }

  /** One export, settled by its answer or its deadline; never rejects (failures go to the global handler and onExportFailure). */
  #send(spans: ReadableSpan[]): Promise<void> {
    const { exportTimeoutMs, exporter, onExportFailure } = this.#options;
    return new Promise<void>((resolve) => {
      let settled = false;
      const settle = (error?: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve();
        if (error === undefined) {
          this.counts.exported += spans.length;
          return;
        }
        this.counts.failed += spans.length;
        this.#core.globalErrorHandler(error);
        try {
          onExportFailure?.(error, spans.length);
        } catch (thrown) {
          // A reporter that throws must not break the exporter's callback, which may be calling this.
          this.#core.globalErrorHandler(thrown);
        }
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
    });
  }
}
