import type { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { TestingError } from './errors.ts';

/** What the kit hands the build function: where to log, and a secret to plant in config. */
export interface HardeningIo {
  /** Pass it to the app's logger as its destination; the kit reads every line from it. */
  logStream: Writable;
  /**
   * A fresh secret (a string no request or config otherwise contains). The kit sends it as an API key,
   * bearer token and cookie; put it in a secret config value too (e.g. a pepper) to prove config never
   * reaches logs. It must never appear in a log line, a span or an audit record.
   */
  canary: string;
}

/** The minimal view of a finished span the kit reads (an OpenTelemetry `ReadableSpan` fits). */
export interface SpanLike {
  name: string;
  spanContext(): { traceId: string; spanId: string };
  parentSpanContext?: { spanId: string } | undefined;
  attributes: Record<string, unknown>;
  events?: readonly { name: string; attributes?: Record<string, unknown> | undefined }[];
}

/** What the build function returns: the real app and the seams the kit reads through. */
export interface HardeningTarget {
  /** The app from the service's own buildApp, not yet listening. */
  app: FastifyInstance;
  /** A valid API key carrying every scope the service's routes require. */
  apiKey: string;
  /** Spans finished so far (e.g. `() => tracing.memoryExporter.getFinishedSpans()`). */
  spans?: () => readonly SpanLike[];
  /** Audit records written so far (e.g. a select from `auditLog`). */
  auditRecords?: () => Promise<readonly unknown[]>;
  /** What SIGTERM does first: mark the service as shutting down (readiness 503) without exiting. */
  beginShutdown?: () => unknown;
  /** Releases what the build opened besides the app (database...); the kit closes the app itself. */
  close?: () => Promise<void>;
}

/**
 * Builds a fresh target. The kit calls it once for each group of checks that share a target (three
 * builds for all ten checks), once per check with `isolateChecks`, and again when the schema sweep meets
 * a 429.
 */
export type BuildTarget = (io: HardeningIo) => Promise<HardeningTarget>;

export const CHECK_NAMES = [
  'auth',
  'rate-limit',
  'security-headers',
  'metrics',
  'trace-context',
  'bad-input',
  'schema-sweep',
  'canary-secret',
  'audit',
  'readiness',
] as const;

export type CheckName = (typeof CHECK_NAMES)[number];

export interface HardeningOptions {
  /** Checks to run; default all of CHECK_NAMES. */
  checks?: readonly CheckName[];
  /** Routes with no `config.auth` that may answer without a key (infrastructure routes). */
  infrastructurePaths?: readonly string[];
  readinessPath?: string;
  livenessPath?: string;
  metricsPath?: string;
  /** Headers a scrape needs (e.g. the metrics bearer token). */
  metricsHeaders?: Record<string, string>;
  /** Unknown paths sent at the app before the series count is compared. */
  randomPaths?: number;
  /** Requests the rate-limit check sends at most before it expects a 429. */
  maxRateLimitRequests?: number;
  /** fast-check runs per route in the schema sweep. */
  sweepRuns?: number;
  /** Seed for every random choice, to replay a failure. */
  seed?: number;
  /** Per-check test timeout in describeHardening. */
  timeoutMs?: number;
  /**
   * Give every check a target of its own (ten builds instead of three). By default checks that leave the
   * app as they found it share one, and those that end it (rate limit spent, shutdown begun) run last or
   * alone; isolate when a check's failure might come from what another did before it.
   */
  isolateChecks?: boolean;
}

export const HARDENING_DEFAULTS = {
  checks: CHECK_NAMES,
  infrastructurePaths: ['/health/live', '/health/ready', '/metrics'],
  readinessPath: '/health/ready',
  livenessPath: '/health/live',
  metricsPath: '/metrics',
  metricsHeaders: {},
  randomPaths: 10_000,
  maxRateLimitRequests: 1_000,
  sweepRuns: 30,
  timeoutMs: 120_000,
  isolateChecks: false,
} as const;

export type NormalizedOptions = Required<Omit<HardeningOptions, 'seed'>> & { seed: number };

const invalid = (detail: string) => new TestingError('RAMPART_TESTING_OPTIONS_INVALID', { detail });

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value <= 0)
    throw invalid(`${name} must be a positive integer, got ${value}`);
  return value;
}

function flag(name: string, value: boolean): boolean {
  if (typeof value !== 'boolean') throw invalid(`${name} must be a boolean, got ${JSON.stringify(value)}`);
  return value;
}

function path(name: string, value: string): string {
  if (typeof value !== 'string' || !value.startsWith('/')) throw invalid(`${name} must start with /`);
  return value;
}

export function normalizeOptions(options: HardeningOptions = {}): NormalizedOptions {
  const merged = { ...HARDENING_DEFAULTS, ...options };
  for (const check of merged.checks) {
    if (!(CHECK_NAMES as readonly string[]).includes(check))
      throw invalid(`unknown check ${JSON.stringify(check)}; known: ${CHECK_NAMES.join(', ')}`);
  }
  return {
    checks: [...merged.checks],
    infrastructurePaths: merged.infrastructurePaths.map((value) => path('infrastructurePaths', value)),
    readinessPath: path('readinessPath', merged.readinessPath),
    livenessPath: path('livenessPath', merged.livenessPath),
    metricsPath: path('metricsPath', merged.metricsPath),
    metricsHeaders: { ...merged.metricsHeaders },
    randomPaths: positiveInteger('randomPaths', merged.randomPaths),
    maxRateLimitRequests: positiveInteger('maxRateLimitRequests', merged.maxRateLimitRequests),
    sweepRuns: positiveInteger('sweepRuns', merged.sweepRuns),
    timeoutMs: positiveInteger('timeoutMs', merged.timeoutMs),
    isolateChecks: flag('isolateChecks', merged.isolateChecks),
    seed: options.seed ?? Date.now() % 2_147_483_647,
  };
}
