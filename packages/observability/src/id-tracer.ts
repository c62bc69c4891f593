import { randomFillSync } from 'node:crypto';
import {
  type Context,
  context,
  type Span,
  type SpanContext,
  type SpanOptions,
  TraceFlags,
  type Tracer,
  type TracerProvider,
  type TraceState,
  trace,
} from '@opentelemetry/api';

// Ids come from a pool of random bytes refilled 4 KiB at a time and turned into hex once per refill: an id is
// a slice of that text (no native call, no syscall). A slice keeps its 8 KiB parent alive while the id lives,
// which for ids held by queued spans is a few parents at most.
const POOL_BYTES = 4096;
const pool = Buffer.allocUnsafe(POOL_BYTES);
let hex = '';
let offset = POOL_BYTES * 2;
function randomHex(bytes: number): string {
  const length = bytes * 2;
  if (offset + length > hex.length) {
    randomFillSync(pool);
    hex = pool.toString('hex');
    offset = 0;
  }
  const id = hex.slice(offset, offset + length);
  offset += length;
  return id;
}

const NO_TRACE = '0'.repeat(32);
const NO_SPAN = '0'.repeat(16);

/** Random hex for an id, never all zeros (which W3C trace context reserves for "no id"). */
function randomId(bytes: number, none: string): string {
  let id = randomHex(bytes);
  while (id === none) id = randomHex(bytes);
  return id;
}

/**
 * A span context made here, valid by construction, which {@link isValidSpanContext} recognises by its class
 * instead of checking every character: its span id (and a new trace's id) is cut from random hex at its exact
 * length and never all zeros, and a trace id taken from a parent comes from one that passed the check
 * (`idOnlySpanOf`'s guard, which this shortcut depends on).
 */
class FreshSpanContext implements SpanContext {
  readonly traceId: string;
  readonly spanId: string;
  readonly traceFlags: number;
  readonly traceState: TraceState | undefined;
  readonly isRemote = false;
  constructor(traceId: string, spanId: string, traceFlags: number, traceState: TraceState | undefined) {
    this.traceId = traceId;
    this.spanId = spanId;
    this.traceFlags = traceFlags;
    this.traceState = traceState;
    // Frozen, so ids checked valid at construction stay what was checked.
    Object.freeze(this);
  }
}

/**
 * Whether a span context carries valid W3C ids: at once for one the ids-only path made, else
 * @opentelemetry/api's check. That check reads all 48 characters, each through a builtin call, since an id
 * here is a slice of the pool's text; the request hooks asked it twice a request, about 4,600 of the ~240,000
 * instructions of a GET in bench/ (callgrind), for spans whose ids were made valid a moment before.
 */
export function isValidSpanContext(spanContext: SpanContext): boolean {
  return spanContext instanceof FreshSpanContext || trace.isSpanContextValid(spanContext);
}

/** A span with fresh ids and nothing recorded: the parent's trace and sampling flag, or a new trace. */
export function idOnlySpan(
  _name: string,
  options?: SpanOptions,
  parentContext: Context = context.active(),
): Span {
  return idOnlySpanOf(options?.root ? undefined : trace.getSpanContext(parentContext));
}

/** `idOnlySpan` for a caller that already looked up the parent's span context. */
export function idOnlySpanOf(parent: SpanContext | undefined): Span {
  // Only a valid parent's trace id is taken: FreshSpanContext vouches for it from here on.
  if (parent !== undefined && isValidSpanContext(parent)) {
    // The caller's sampling decision travels on: this hop records nothing, but the next one may.
    return trace.wrapSpanContext(
      new FreshSpanContext(parent.traceId, randomId(8, NO_SPAN), parent.traceFlags, parent.traceState),
    );
  }
  return trace.wrapSpanContext(
    new FreshSpanContext(randomId(16, NO_TRACE), randomId(8, NO_SPAN), TraceFlags.NONE, undefined),
  );
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
