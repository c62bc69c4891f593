import { setTimeout as sleep } from 'node:timers/promises';
import {
  type Check,
  concreteUrl,
  jsonRequest,
  keyHeaders,
  label,
  protectedRoutes,
  randomHex,
} from '../check-context.ts';
import type { SpanLike } from '../options.ts';

/** An incoming W3C traceparent is continued by the server span and by the request's log lines. */
export const traceContextCheck: Check = async (context) => {
  const traceId = randomHex(16);
  const parentId = randomHex(8);
  const route = protectedRoutes(context).find((candidate) => candidate.method === 'GET');
  const url = route ? concreteUrl(route) : context.options.readinessPath;
  const what = route ? label(route) : `GET ${url}`;
  const headers = { ...(route ? keyHeaders(context) : {}), traceparent: `00-${traceId}-${parentId}-01` };
  // Only lines logged from here on: on a shared target, the log stream holds earlier checks' lines, and an
  // app rebuilt onto the same stream numbers its requests (reqId) from 1 again.
  const start = context.logs.lines().length;
  await context.inject(route ? jsonRequest(route, url, headers) : { url, headers });

  if (!context.target.spans) {
    context.fail('trace-context: the target gives no spans() reader, so the server span cannot be checked');
  } else {
    const spans = context.target.spans;
    let continued: SpanLike | undefined;
    // Spans end in onResponse, which may run just after inject resolves.
    for (let attempt = 0; attempt < 20 && !continued; attempt += 1) {
      continued = spans().find(
        (span) => span.spanContext().traceId === traceId && span.parentSpanContext?.spanId === parentId,
      );
      if (!continued) await sleep(25);
    }
    if (!continued)
      context.fail(
        `trace-context: no span of trace ${traceId} has the incoming span ${parentId} as parent (${what})`,
      );
  }
  const logged = context.logs.lines().slice(start);
  const lines = logged.filter((line) => line.trace_id === traceId);
  if (lines.length === 0)
    context.fail(
      `trace-context: no log line carries trace_id ${traceId} from the incoming traceparent (${what})`,
    );
  const foreign = logged
    .filter((line) => line.reqId !== undefined && lines.some((own) => own.reqId === line.reqId))
    .filter((line) => line.trace_id !== traceId);
  if (foreign.length > 0)
    context.fail(
      `trace-context: ${foreign.length} log line(s) of the traced request carry another or no trace_id`,
    );
};
