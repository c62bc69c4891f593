/** Sampled spans the batching processor has handled since tracing started, by what became of them. */
export interface SpanCounts {
  /** Sent and accepted by the exporter. */
  exported: number;
  /** Carried by an export that failed, threw or timed out: lost. */
  failed: number;
  /** Never queued because `maxQueueSize` spans were waiting: lost. */
  dropped: number;
}

/** The slot startTracing fills; read here so metrics need not load the tracing module. */
export const TRACING_SLOT = Symbol.for('@rampart/observability.tracing');

/**
 * The running tracing's span counts, or undefined when nothing batches spans (no tracing, `exporter: 'none'`
 * or `'memory'`). Reads the process-wide slot, so it sees tracing started by another copy of this package
 * (the register hook preloaded beside a bundled service).
 */
export function currentSpanCounts(): SpanCounts | undefined {
  const tracing = (globalThis as { [TRACING_SLOT]?: { spanCounts?: () => SpanCounts | undefined } })[
    TRACING_SLOT
  ];
  return typeof tracing?.spanCounts === 'function' ? tracing.spanCounts() : undefined;
}
