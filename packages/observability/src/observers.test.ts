import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { logSink, parseMetrics } from '../test/support.ts';
import { createLogger } from './logger.ts';
import { createMetrics } from './metrics.ts';
import { createPolicyObserver } from './policy-observer.ts';
import { createQueryObserver } from './query-observer.ts';
import { createTaskObserver } from './task-observer.ts';
import { startTracing, type Tracing } from './tracing.ts';

let tracing: Tracing;
beforeAll(async () => {
  tracing = await startTracing({ service: 'test-svc', exporter: 'memory' });
});
afterAll(async () => {
  await tracing.shutdown();
});
beforeEach(() => tracing.memoryExporter?.reset());
const spans = () => tracing.memoryExporter?.getFinishedSpans() ?? [];

function setup() {
  const logs = logSink();
  const logger = createLogger({ service: 'test-svc', redact: [], level: 'debug', destination: logs.stream });
  const metrics = createMetrics({ service: 'test-svc', defaultMetrics: false });
  return { logs, logger, metrics };
}

describe('createQueryObserver', () => {
  it('records duration, outcome, slow queries and a client span under a sampled request span', async () => {
    const { logs, logger, metrics } = setup();
    const observer = createQueryObserver({ metrics, logger });
    const sql = 'select * from orders where id = $1';
    await trace.getTracer('t').startActiveSpan('GET /orders/:id', async (parent) => {
      observer.onQuery({ system: 'pglite', operation: 'select', sql, durationMs: 3, ok: true, slow: false });
      observer.onQuery({ system: 'pglite', operation: 'select', sql, durationMs: 250, ok: true, slow: true });
      const error = Object.assign(new Error('duplicate key value (email)=(a@b.c)'), { code: '23505' });
      observer.onQuery({
        system: 'pglite',
        operation: 'insert',
        sql: 'insert into t values ($1)',
        durationMs: 1,
        ok: false,
        slow: false,
        error,
      });
      parent.end();
    });
    observer.onQuery({
      system: 'postgresql',
      operation: 'vacuum full weird',
      sql: 'x',
      durationMs: 1,
      ok: true,
      slow: false,
    });

    const rows = parseMetrics(await metrics.registry.metrics());
    const count = (labels: Record<string, string>) =>
      rows.find(
        (row) =>
          row.name === 'db_client_queries_total' &&
          Object.entries(labels).every(([k, v]) => row.labels[k] === v),
      )?.value;
    expect(count({ system: 'pglite', operation: 'select', outcome: 'ok' })).toBe(2);
    expect(count({ system: 'pglite', operation: 'insert', outcome: 'error' })).toBe(1);
    expect(count({ system: 'postgresql', operation: 'other', outcome: 'ok' })).toBe(1);
    expect(rows.find((row) => row.name === 'db_client_slow_queries_total')).toMatchObject({
      value: 1,
      labels: { operation: 'select' },
    });
    expect(
      rows.find(
        (row) => row.name === 'db_client_query_duration_seconds_sum' && row.labels.operation === 'select',
      )?.value,
    ).toBeCloseTo(0.253);

    const slow = logs.lines.find((line) => line.msg === 'slow query');
    expect(slow).toMatchObject({ level: 40, db: { statement: sql, duration_ms: 250, operation: 'select' } });
    expect(slow?.trace_id).toBe(
      spans()
        .find((span) => span.name === 'GET /orders/:id')
        ?.spanContext().traceId,
    );
    expect(logs.text()).not.toContain('a@b.c');

    const client = spans().filter((span) => span.kind === SpanKind.CLIENT);
    expect(client).toHaveLength(3); // the query outside any request made no span
    const failed = client.find((span) => span.attributes['db.operation.name'] === 'insert');
    expect(failed?.status.code).toBe(SpanStatusCode.ERROR);
    expect(failed?.attributes['error.type']).toBe('23505');
    expect(JSON.stringify(client.map((span) => span.attributes))).not.toContain('a@b.c');
  });
});

describe('createTaskObserver', () => {
  it('carries the trace from enqueue to the job span, and its log lines carry the job trace', async () => {
    const { logs, logger, metrics } = setup();
    const observer = createTaskObserver({ metrics, logger });
    let carrier: Record<string, string> = {};
    let requestTraceId = '';
    trace.getTracer('t').startActiveSpan('POST /orders', (span) => {
      carrier = observer.inject();
      requestTraceId = span.spanContext().traceId;
      span.end();
    });
    expect(carrier.traceparent).toMatch(new RegExp(`^00-${requestTraceId}-`));

    const result = await observer.runJob({ task: 'send-email', jobId: 'job-1', carrier }, async () => {
      logger.info('sending');
      return 42;
    });
    expect(result).toBe(42);
    const job = spans().find((span) => span.name === 'process send-email');
    expect(job?.kind).toBe(SpanKind.CONSUMER);
    expect(job?.links[0]?.context.traceId).toBe(requestTraceId);
    expect(job?.attributes['messaging.message.id']).toBe('job-1');
    expect(logs.lines.find((line) => line.msg === 'sending')).toMatchObject({
      trace_id: job?.spanContext().traceId,
      span_id: job?.spanContext().spanId,
    });

    const boom = Object.assign(new Error('smtp down'), { code: 'SMTP_DOWN' });
    await expect(
      observer.runJob({ task: 'send-email', jobId: 'job-2', carrier: {} }, async () => {
        throw boom;
      }),
    ).rejects.toBe(boom);
    const failed = spans().find((span) => span.attributes['messaging.message.id'] === 'job-2');
    expect(failed?.status.code).toBe(SpanStatusCode.ERROR);
    expect(failed?.attributes['error.type']).toBe('SMTP_DOWN');
    expect(failed?.links).toEqual([]);
  });

  it('counts job events, tracks jobs in flight and their run time, and logs failures', async () => {
    const { logs, logger, metrics } = setup();
    const observer = createTaskObserver({ metrics, logger });
    const task = 'send-email';
    observer.onJob({ task, jobId: '1', kind: 'queued' });
    observer.onJob({ task, jobId: '1', kind: 'active', attempt: 1 });
    observer.onJob({ task, jobId: '2', kind: 'active', attempt: 1 });
    observer.onJob({ task, jobId: '1', kind: 'completed', durationMs: 120 });
    observer.onJob({
      task,
      jobId: '2',
      kind: 'failed',
      durationMs: 30,
      attempt: 1,
      error: new Error('smtp down'),
    });
    observer.onJob({ task, jobId: '2', kind: 'dead-lettered', attempt: 3 });
    const rows = parseMetrics(await metrics.registry.metrics());
    const jobs = (kind: string) =>
      rows.find((row) => row.name === 'tasks_jobs_total' && row.labels.kind === kind)?.value;
    expect([
      jobs('queued'),
      jobs('active'),
      jobs('completed'),
      jobs('failed'),
      jobs('dead-lettered'),
    ]).toEqual([1, 2, 1, 1, 1]);
    expect(rows.find((row) => row.name === 'tasks_jobs_active')?.value).toBe(0);
    expect(
      rows.find(
        (row) => row.name === 'tasks_job_duration_seconds_count' && row.labels.outcome === 'completed',
      )?.value,
    ).toBe(1);
    expect(logs.lines.find((line) => line.msg === 'job failed')).toMatchObject({
      level: 40,
      job_id: '2',
      err: { message: 'smtp down' },
    });
    expect(logs.lines.find((line) => line.msg === 'job dead-lettered')).toMatchObject({
      level: 50,
      attempt: 3,
    });
  });
});

describe('createPolicyObserver', () => {
  it('counts policy events, times calls, tracks breaker state and marks the request span', async () => {
    const { logs, logger, metrics } = setup();
    const observer = createPolicyObserver({ metrics, logger });
    await trace.getTracer('t').startActiveSpan('GET /pay', async (span) => {
      observer.onEvent({ policy: 'payments-api', kind: 'call' });
      observer.onEvent({ policy: 'payments-api', kind: 'retry' });
      observer.onEvent({ policy: 'payments-api', kind: 'failure', durationMs: 40 });
      observer.onEvent({ policy: 'payments-api', kind: 'breaker-open' });
      span.end();
    });
    observer.onEvent({ policy: 'payments-api', kind: 'bogus' as 'call' });
    const rows = parseMetrics(await metrics.registry.metrics());
    const events = rows.filter((row) => row.name === 'resilience_policy_events_total');
    expect(events.map((row) => [row.labels.kind, row.value])).toEqual([
      ['call', 1],
      ['retry', 1],
      ['failure', 1],
      ['breaker-open', 1],
    ]);
    expect(rows.find((row) => row.name === 'resilience_breaker_state')?.value).toBe(2);
    expect(
      rows.find(
        (row) =>
          row.name === 'resilience_policy_call_duration_seconds_sum' && row.labels.outcome === 'failure',
      )?.value,
    ).toBeCloseTo(0.04);
    const span = spans().find((s) => s.name === 'GET /pay');
    expect(span?.events.map((event) => event.name)).toEqual([
      'resilience.retry',
      'resilience.failure',
      'resilience.breaker-open',
    ]);
    expect(logs.lines.find((line) => line.msg === 'circuit breaker opened')).toMatchObject({
      level: 40,
      policy: 'payments-api',
    });
    observer.onEvent({ policy: 'payments-api', kind: 'breaker-closed' });
    expect(
      parseMetrics(await metrics.registry.metrics()).find((row) => row.name === 'resilience_breaker_state')
        ?.value,
    ).toBe(0);
  });
});
