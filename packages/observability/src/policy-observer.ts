import { context, trace } from '@opentelemetry/api';
import type { Logger } from 'pino';
import { invalidOptions } from './errors.ts';
import type { Metrics } from './metrics.ts';

/** What @rampart/resilience reports (structural: this package does not import resilience). */
export interface PolicyEvent {
  policy: string;
  kind:
    | 'call'
    | 'success'
    | 'failure'
    | 'retry'
    | 'timeout'
    | 'breaker-open'
    | 'breaker-half-open'
    | 'breaker-closed'
    | 'bulkhead-rejected'
    | 'fallback';
  durationMs?: number;
}

export interface PolicyObserver {
  onEvent(event: PolicyEvent): void;
}

export interface PolicyObserverOptions {
  metrics: Metrics;
  /** Breaker transitions are logged here (open at warn, the others at info); omit to log nothing. */
  logger?: Logger;
}

const KINDS = new Set([
  'call',
  'success',
  'failure',
  'retry',
  'timeout',
  'breaker-open',
  'breaker-half-open',
  'breaker-closed',
  'bulkhead-rejected',
  'fallback',
]);
const BREAKER_STATE: Record<string, number> = {
  'breaker-closed': 0,
  'breaker-half-open': 1,
  'breaker-open': 2,
};
// Call and success are the normal path: only what changes a request's story becomes a span event.
const SPAN_EVENTS = new Set(['retry', 'timeout', 'failure', 'breaker-open', 'bulkhead-rejected', 'fallback']);

/**
 * Implements @rampart/resilience's policy observer: events by policy and kind, call duration by
 * outcome, breaker state as a gauge, a span event on the active sampled span when a retry, timeout,
 * rejection or fallback shapes the request, and a log line per breaker transition.
 *
 * @example
 * const payments = createPolicy({ name: 'payments-api', observer: createPolicyObserver({ metrics, logger }) });
 */
export function createPolicyObserver(options: PolicyObserverOptions): PolicyObserver {
  if (!options?.metrics?.resilience)
    throw invalidOptions('policy observer: metrics (from createMetrics) is required');
  const { events, duration, breaker } = options.metrics.resilience;
  const logger = options.logger;
  return {
    onEvent(event) {
      if (!KINDS.has(event?.kind) || typeof event.policy !== 'string' || event.policy === '') return;
      const { policy, kind } = event;
      events.inc({ policy, kind });
      if (
        (kind === 'success' || kind === 'failure') &&
        typeof event.durationMs === 'number' &&
        event.durationMs >= 0
      ) {
        duration.observe({ policy, outcome: kind }, event.durationMs / 1000);
      }
      const state = BREAKER_STATE[kind];
      if (state !== undefined) {
        breaker.set({ policy }, state);
        if (kind === 'breaker-open') logger?.warn({ policy }, 'circuit breaker opened');
        else
          logger?.info({ policy }, `circuit breaker ${kind === 'breaker-closed' ? 'closed' : 'half-open'}`);
      }
      if (SPAN_EVENTS.has(kind)) {
        const span = trace.getSpan(context.active());
        if (span?.isRecording()) span.addEvent(`resilience.${kind}`, { 'resilience.policy': policy });
      }
    },
  };
}
