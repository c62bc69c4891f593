import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createRequire } from 'node:module';
import { context, propagation, type Span, type TracerProvider } from '@opentelemetry/api';

const require = createRequire(import.meta.url);
const CREATE = 'undici:request:create';

type RequestHook = (span: Span, request: { origin: string; path: string }) => void;
interface UndiciRequest {
  addHeader(name: string, value: string): unknown;
  /** undici keeps them as `[name, value, name, value, ...]` (older versions: one raw header string). */
  headers?: unknown;
}

const TRACE_HEADERS: ReadonlySet<string> = new Set(['traceparent', 'tracestate']);

/**
 * Drops trace headers the caller already set, before ours go on. A client that injects for itself (as
 * @rampart/resilience's does when it sees a global propagator) would otherwise send two `traceparent`
 * values, and a receiver given two ignores both: the trace breaks at the hop. Ours name the client span.
 */
export function dropTraceHeaders(request: UndiciRequest | undefined): void {
  const headers = request?.headers;
  if (Array.isArray(headers)) {
    for (let index = headers.length - 2; index >= 0; index -= 2) {
      if (TRACE_HEADERS.has(String(headers[index]).toLowerCase())) headers.splice(index, 2);
    }
  } else if (typeof headers === 'string' && request) {
    request.headers = headers
      .split('\r\n')
      .filter((line) => !TRACE_HEADERS.has(line.slice(0, line.indexOf(':')).trim().toLowerCase()))
      .join('\r\n');
  }
}

/**
 * OpenTelemetry's undici instrumentation, installed on the first outbound request instead of at start-up.
 * Creating any instrumentation installs require-in-the-middle, which then sits on every `require` the
 * service makes while it loads (about 70 ms of a cold start in bench/); undici needs none of that, it
 * reports through diagnostics_channel. The first request, announced before the instrumentation existed,
 * gets its `traceparent` injected here (no client span); every later one is fully instrumented.
 */
export function instrumentUndiciOnFirstUse(
  tracerProvider: TracerProvider,
  requestHook: RequestHook,
): () => void {
  let disable: (() => void) | undefined;
  const onCreate = (message: unknown): void => {
    unsubscribe(CREATE, onCreate);
    const { request } = message as { request?: UndiciRequest };
    const carrier: Record<string, string> = {};
    propagation.inject(context.active(), carrier);
    dropTraceHeaders(request);
    for (const [name, value] of Object.entries(carrier)) request?.addHeader(name, value);
    const { registerInstrumentations } =
      require('@opentelemetry/instrumentation') as typeof import('@opentelemetry/instrumentation');
    const { UndiciInstrumentation } =
      require('@opentelemetry/instrumentation-undici') as typeof import('@opentelemetry/instrumentation-undici');
    disable = registerInstrumentations({
      instrumentations: [
        new UndiciInstrumentation({
          // The instrumentation injects right after this hook: clear the way for its headers.
          requestHook: (span, request) => {
            dropTraceHeaders(request as unknown as UndiciRequest);
            requestHook(span, request);
          },
        }),
      ],
      tracerProvider,
    });
  };
  subscribe(CREATE, onCreate);
  return () => {
    unsubscribe(CREATE, onCreate);
    disable?.();
  };
}
