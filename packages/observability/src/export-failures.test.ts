import { afterEach, describe, expect, it, vi } from 'vitest';
import { exportFailureReporter } from './export-failures.ts';

afterEach(() => {
  vi.useRealTimers();
});

/** What the OTLP exporter reports for a non-2xx answer: its OTLPExporterError, status as `code`. */
function httpError(status: number, statusMessage: string): Error {
  return Object.assign(new Error(statusMessage), { name: 'OTLPExporterError', code: status });
}

function setup(secrets: string[] = []) {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
  const lines: string[] = [];
  const reporter = exportFailureReporter({
    target: 'http://***@collector:4318/v1/traces',
    secrets,
    write: (line) => lines.push(line),
  });
  return { reporter, lines };
}

describe('exportFailureReporter', () => {
  it('warns of the first failure at once, then at most once per 30 s with what it held back', async () => {
    const { reporter, lines } = setup();
    reporter.failed(httpError(401, 'Unauthorized'), 64);
    expect(lines).toEqual([
      '@rampart/observability: span export to http://***@collector:4318/v1/traces failed (64 spans lost): HTTP 401 Unauthorized',
    ]);
    await vi.advanceTimersByTimeAsync(1_000);
    reporter.failed(httpError(401, 'Unauthorized'), 10);
    reporter.failed(new Error('span export timed out after 5000 ms'), 1);
    await vi.advanceTimersByTimeAsync(28_999);
    expect(lines).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(lines[1]).toBe(
      '@rampart/observability: 2 span exports to http://***@collector:4318/v1/traces failed since the previous warning (11 spans lost); the last: span export timed out after 5000 ms',
    );
    // Quiet for a whole interval: the next failure is told at once again.
    await vi.advanceTimersByTimeAsync(30_000);
    reporter.failed(httpError(503, 'Service Unavailable'), 1);
    expect(lines).toHaveLength(3);
    expect(lines[2]).toContain('failed (1 span lost): HTTP 503 Service Unavailable');
  });

  it('writes what it holds when flushed (at shutdown), and nothing when it holds nothing', () => {
    const { reporter, lines } = setup();
    reporter.flush();
    expect(lines).toEqual([]);
    reporter.failed(new Error('first'), 1);
    reporter.failed(new Error('second'), 2);
    reporter.flush();
    expect(lines).toHaveLength(2);
    // One export held back: said as one, with the spans it carried.
    expect(lines[1]).toMatch(/: span export to .* failed \(2 spans lost\): second$/);
  });

  it('says what failed in one short line, with no secret in it', () => {
    const { reporter, lines } = setup(['s3cret-token']);
    // A refused connection to every address of localhost: an AggregateError with an empty message.
    reporter.failed(Object.assign(new AggregateError([], ''), { code: 'ECONNREFUSED' }), 1);
    reporter.flush();
    reporter.failed(new Error('collector said:\nrejected token s3cret-token'), 1);
    reporter.flush();
    reporter.failed(new Error('x'.repeat(1_000)), 1);
    reporter.flush();
    expect(lines[0]).toMatch(/: ECONNREFUSED$/);
    expect(lines[1]).toMatch(/: collector said: rejected token \*\*\*$/);
    expect(lines[2]?.length).toBeLessThan(450);
    expect(lines[2]).toMatch(/x…$/);
  });
});
