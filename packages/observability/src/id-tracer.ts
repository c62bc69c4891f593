import { randomFillSync } from 'node:crypto';
import {
  type Context,
  context,
  type Span,
  type SpanOptions,
  TraceFlags,
  type Tracer,
  type TracerProvider,
  trace,
} from '@opentelemetry/api';

// Ids come from a pool of random bytes refilled 4 KiB at a time: one hex slice per id, no syscall.
const pool = Buffer.allocUnsafe(4096);
let offset = pool.length;
function randomHex(bytes: number): string {
  if (offset + bytes > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const hex = pool.toString('hex', offset, offset + bytes);
  offset += bytes;
  return hex;
}

/** A span with fresh ids and nothing recorded: the parent's trace and sampling flag, or a new trace. */
export function idOnlySpan(
  _name: string,
  options?: SpanOptions,
  parentContext: Context = context.active(),
): Span {
  const parent = options?.root ? undefined : trace.getSpanContext(parentContext);
  if (parent !== undefined && trace.isSpanContextValid(parent)) {
    // The caller's sampling decision travels on: this hop records nothing, but the next one may.
    return trace.wrapSpanContext({ ...parent, spanId: randomHex(8), isRemote: false });
  }
  return trace.wrapSpanContext({ traceId: randomHex(16), spanId: randomHex(8), traceFlags: TraceFlags.NONE });
}

/** A Tracer from its `startSpan`: `startActiveSpan` in its three forms runs `fn` inside the new span. */
export function tracerOf(startSpan: Tracer['startSpan']): Tracer {
  return {
    startSpan,
    startActiveSpan<F extends (span: Span) => unknown>(name: string, ...rest: unknown[]): ReturnType<F> {
      const fn = rest[rest.length - 1] as F;
      const options = rest.length > 1 ? (rest[0] as SpanOptions) : undefined;
      const parent = rest.length > 2 ? (rest[1] as Context) : context.active();
      const span = startSpan(name, options, parent);
      return context.with(trace.setSpan(parent, span), fn as (span: Span) => ReturnType<F>, undefined, span);
    },
  } as Tracer;
}

const idOnlyTracer = tracerOf(idOnlySpan);

/**
 * The tracer provider behind `exporter: 'none'`: W3C ids made and propagated so logs and downstream
 * services can correlate, and nothing recorded, so the SDK is never loaded (faster start, and about
 * 3 µs less per request than the SDK with an always-off sampler in bench/).
 */
export const idOnlyTracerProvider: TracerProvider = { getTracer: () => idOnlyTracer };
