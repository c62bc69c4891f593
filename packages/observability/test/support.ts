import { spawnSync } from 'node:child_process';
import { Writable } from 'node:stream';
import Fastify, { LogController } from 'fastify';
import { createLogger, DEFAULT_REDACT_PATHS } from '../src/logger.ts';
import { createMetrics } from '../src/metrics.ts';

/** A pino destination that keeps every line, parsed. */
export function logSink(): { stream: Writable; lines: Array<Record<string, unknown>>; text: () => string } {
  const raw: string[] = [];
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      for (const line of String(chunk).split('\n')) {
        if (line.trim() === '') continue;
        raw.push(line);
        lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      callback();
    },
  });
  return { stream, lines, text: () => raw.join('\n') };
}

export function buildApp(options: { redact?: readonly string[] } = {}) {
  const logs = logSink();
  const loggerInstance = createLogger({
    service: 'test-svc',
    redact: options.redact ?? DEFAULT_REDACT_PATHS,
    destination: logs.stream,
  });
  const app = Fastify({ loggerInstance, logController: new LogController({ disableRequestLogging: true }) });
  const metrics = createMetrics({ service: 'test-svc', defaultMetrics: false });
  return { app, metrics, logs };
}

/** Parses Prometheus text into `name{labels} value` rows. */
export function parseMetrics(
  text: string,
): Array<{ name: string; labels: Record<string, string>; value: number }> {
  const rows = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`unparsable metrics line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[pair[1] as string] = pair[2] as string;
    }
    rows.push({ name: match[1] as string, labels, value: Number(match[3]) });
  }
  return rows;
}

/**
 * The promtool binary, or null (after printing the skip line) when it is not installed. With CI=true a
 * missing promtool is a failure: CI must never skip silently.
 */
export function promtool(): string | null {
  const found = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
  if (found.error === undefined && found.status === 0) return 'promtool';
  if (process.env.CI === 'true') throw new Error('promtool is required in CI (Debian package "prometheus")');
  console.warn('SKIPPED TOOL: promtool not installed');
  return null;
}
