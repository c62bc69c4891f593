import {
  context,
  type Link,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import type { Logger } from 'pino';
import { invalidOptions } from './errors.ts';
import { isValidSpanContext } from './id-tracer.ts';
import type { Metrics } from './metrics.ts';

/** What @rampart/tasks reports about a job (structural: this package does not import tasks). */
export interface JobEvent {
  task: string;
  jobId: string;
  kind: 'queued' | 'active' | 'completed' | 'failed' | 'retried' | 'dead-lettered';
  durationMs?: number;
  attempt?: number;
  error?: Error;
}

export interface TaskObserver {
  /** Called at enqueue; the returned carrier (W3C traceparent) is stored in the job. */
  inject?(): Record<string, string>;
  /** Runs a job's handler inside a span linked to the carrier's trace. */
  runJob?<T>(
    job: { task: string; jobId: string; carrier: Record<string, string> },
    run: () => Promise<T>,
  ): Promise<T>;
  onJob?(event: JobEvent): void;
}

export interface TaskObserverOptions {
  metrics: Metrics;
  /** Failures are logged at warn, dead letters at error, the rest at debug; omit to log nothing. */
  logger?: Logger;
  /** Default: the global tracer. */
  tracer?: Tracer;
}

const KINDS = new Set(['queued', 'active', 'completed', 'failed', 'retried', 'dead-lettered']);

/**
 * Implements @rampart/tasks' task observer: trace context carried from enqueue to the worker (the job
 * span links to the enqueuing trace, and log lines inside the handler carry the job span's ids), job
 * counters by task and kind, a run-time histogram and an in-flight gauge.
 *
 * @example
 * const queue = createTaskQueue({ ..., observer: createTaskObserver({ metrics, logger }) });
 */
export function createTaskObserver(options: TaskObserverOptions): Required<TaskObserver> {
  if (!options?.metrics?.tasks)
    throw invalidOptions('task observer: metrics (from createMetrics) is required');
  const { jobs, duration, active } = options.metrics.tasks;
  const logger = options.logger;
  const tracer = options.tracer ?? trace.getTracer('@rampart/observability');

  return {
    inject() {
      const carrier: Record<string, string> = {};
      propagation.inject(context.active(), carrier);
      return carrier;
    },

    runJob(job, run) {
      const origin = trace.getSpanContext(propagation.extract(ROOT_CONTEXT, job.carrier ?? {}));
      const links: Link[] = origin && isValidSpanContext(origin) ? [{ context: origin }] : [];
      const span = tracer.startSpan(
        `process ${job.task}`,
        {
          kind: SpanKind.CONSUMER,
          root: true,
          links,
          attributes: {
            'messaging.operation.type': 'process',
            'messaging.destination.name': job.task,
            'messaging.message.id': job.jobId,
          },
        },
        ROOT_CONTEXT,
      );
      return context.with(trace.setSpan(ROOT_CONTEXT, span), async () => {
        try {
          return await run();
        } catch (error) {
          if (span.isRecording()) {
            const code = (error as { code?: unknown }).code;
            span.setAttribute(
              'error.type',
              typeof code === 'string' ? code : ((error as Error).name ?? 'Error'),
            );
            span.setStatus({ code: SpanStatusCode.ERROR });
          }
          throw error;
        } finally {
          span.end();
        }
      });
    },

    onJob(event) {
      if (!KINDS.has(event.kind) || typeof event.task !== 'string') return;
      const { task, kind } = event;
      jobs.inc({ task, kind });
      if (kind === 'active') active.inc({ task });
      if (kind === 'completed' || kind === 'failed') {
        active.dec({ task });
        if (typeof event.durationMs === 'number' && event.durationMs >= 0) {
          duration.observe({ task, outcome: kind }, event.durationMs / 1000);
        }
      }
      if (!logger) return;
      const line = {
        task,
        job_id: event.jobId,
        kind,
        attempt: event.attempt,
        duration_ms: event.durationMs,
        err: event.error,
      };
      if (kind === 'dead-lettered') logger.error(line, 'job dead-lettered');
      else if (kind === 'failed') logger.warn(line, 'job failed');
      else logger.debug(line, `job ${kind}`);
    },
  };
}
