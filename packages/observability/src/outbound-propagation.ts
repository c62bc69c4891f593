import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createRequire } from 'node:module';
import { context, propagation, type Span, type TracerProvider } from '@opentelemetry/api';

const require = createRequire(import.meta.url);
const CREATE = 'undici:request:create';

type RequestHook = (span: Span, request: { origin: string; path: string }) => void;
interface UndiciRequest {
  addHeader(name: string, value: string): unknown;
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
    for (const [name, value] of Object.entries(carrier)) request?.addHeader(name, value);
    const { registerInstrumentations } =
      require('@opentelemetry/instrumentation') as typeof import('@opentelemetry/instrumentation');
    const { UndiciInstrumentation } =
      require('@opentelemetry/instrumentation-undici') as typeof import('@opentelemetry/instrumentation-undici');
    disable = registerInstrumentations({
      instrumentations: [new UndiciInstrumentation({ requestHook })],
      tracerProvider,
    });
  };
  subscribe(CREATE, onCreate);
  return () => {
    unsubscribe(CREATE, onCreate);
    disable?.();
  };
}
