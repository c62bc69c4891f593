import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTraceState, INVALID_SPAN_CONTEXT, ROOT_CONTEXT, TraceFlags, trace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../test/support.ts';
import { observability } from './fastify-plugin.ts';
import { idOnlySpanOf, isValidSpanContext } from './id-tracer.ts';
import { startTracing, type Tracing } from './tracing.ts';

let tracing: Tracing;
beforeAll(async () => {
  tracing = await startTracing({ service: 'test-svc' }); // exporter 'none', the default
});
afterAll(async () => {
  await tracing.shutdown();
});

describe("exporter 'none'", () => {
  it('records nothing but makes and propagates ids, keeping the caller sampling flag', async () => {
    expect(tracing.memoryExporter).toBeUndefined();
    const seen: IncomingHttpHeaders[] = [];
    const upstream = createServer((request, response) => {
      seen.push(request.headers);
      response.end('ok');
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    const { app, metrics, logs } = buildApp();
    await app.register(observability, { metrics });
    app.get('/hop', async (request) => {
      expect(request.span.isRecording()).toBe(false);
      request.log.info('inside');
      await (await fetch(`http://127.0.0.1:${(upstream.address() as AddressInfo).port}/`)).text();
      return 'ok';
    });

    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    await app.inject({ url: '/hop', headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } });
    await app.inject({ url: '/hop' });
    await app.close();
    upstream.close();

    const [inherited, fresh] = logs.lines.filter((line) => line.msg === 'request completed');
    expect(inherited).toMatchObject({ trace_id: traceId, span_id: expect.stringMatching(/^[0-9a-f]{16}$/) });
    expect(inherited?.span_id).not.toBe('00f067aa0ba902b7');
    expect(fresh?.trace_id).toMatch(/^[0-9a-f]{32}$/);
    expect(fresh?.trace_id).not.toBe(traceId);
    expect(logs.lines.filter((line) => line.msg === 'inside').map((line) => line.trace_id)).toEqual([
      traceId,
      fresh?.trace_id,
    ]);
    expect(seen[0]?.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    expect(seen[1]?.traceparent).toMatch(new RegExp(`^00-${fresh?.trace_id}-[0-9a-f]{16}-00$`));
  });

  it('makes valid, distinct ids across many refills of its random pool', () => {
    // 20k new traces use 24 bytes each: about 120 refills of the 4 KiB pool.
    const tracer = trace.getTracer('ids');
    const traces = new Set<string>();
    const spans = new Set<string>();
    for (let i = 0; i < 20_000; i++) {
      const { traceId, spanId } = tracer.startSpan('s', { root: true }).spanContext();
      expect(traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(spanId).toMatch(/^[0-9a-f]{16}$/);
      traces.add(traceId);
      spans.add(spanId);
    }
    expect(traces.size).toBe(20_000);
    expect(spans.size).toBe(20_000);
    // Every hex digit turns up in every position: the ids are not a fixed pattern.
    for (let position = 0; position < 32; position++) {
      expect(new Set([...traces].map((id) => id[position])).size).toBe(16);
    }
  });

  it('supports startActiveSpan in all its forms', () => {
    const tracer = trace.getTracer('t');
    const outer = tracer.startActiveSpan('outer', (span) => {
      const inner = tracer.startActiveSpan('inner', { attributes: { a: 1 } }, (child) => child.spanContext());
      expect(inner.traceId).toBe(span.spanContext().traceId);
      expect(inner.spanId).not.toBe(span.spanContext().spanId);
      return span.spanContext();
    });
    const root = tracer.startSpan('root', { root: true });
    expect(root.spanContext().traceId).not.toBe(outer.traceId);
    expect(trace.isSpanContextValid(root.spanContext())).toBe(true);
  });
});

describe('isValidSpanContext', () => {
  it("answers as @opentelemetry/api's check does, for contexts made here and elsewhere", () => {
    const tracer = trace.getTracer('validity');
    const root = tracer.startSpan('root', { root: true }).spanContext();
    const child = trace
      .getTracer('validity')
      .startSpan('child', {}, trace.setSpanContext(ROOT_CONTEXT, root));
    const remote = {
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      traceFlags: TraceFlags.SAMPLED,
      isRemote: true,
    };
    const traceState = createTraceState('vendor=a1,other=b2');
    const made = [
      root,
      child.spanContext(),
      idOnlySpanOf({ ...remote, traceState }).spanContext(),
      // Invalid or missing parents start a new trace rather than lending their ids.
      idOnlySpanOf(INVALID_SPAN_CONTEXT).spanContext(),
      idOnlySpanOf({ ...remote, traceId: '4bf92f3577b34da6a3ce929d0e0e473g' }).spanContext(),
      idOnlySpanOf(undefined).spanContext(),
    ];
    const elsewhere = [
      remote,
      INVALID_SPAN_CONTEXT,
      { ...remote, traceId: '4bf92f3577b34da6a3ce929d0e0e473g' }, // not hex
      { ...remote, spanId: '0000000000000000' },
      { ...remote, traceId: '4bf92f3577b34da6a3ce929d0e0e473' }, // one short
    ];
    for (const spanContext of [...made, ...elsewhere]) {
      expect(isValidSpanContext(spanContext), JSON.stringify(spanContext)).toBe(
        trace.isSpanContextValid(spanContext),
      );
    }
    expect(made.every(isValidSpanContext)).toBe(true);
    expect(elsewhere.filter(isValidSpanContext)).toEqual([remote]);
    // A child keeps the parent's trace and flag, and what was checked cannot change afterwards.
    expect(made[2]).toMatchObject({
      traceId: remote.traceId,
      traceFlags: TraceFlags.SAMPLED,
      isRemote: false,
    });
    expect(made[2]?.traceState).toBe(traceState);
    expect(made[3]?.traceId).not.toBe(INVALID_SPAN_CONTEXT.traceId);
    expect(made[4]?.traceId).not.toBe('4bf92f3577b34da6a3ce929d0e0e473g');
    for (const spanContext of made) expect(Object.isFrozen(spanContext)).toBe(true);
  });
});
