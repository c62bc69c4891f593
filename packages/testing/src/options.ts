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

/** A key that lacks some scope the routes require (e.g. a read-only key), and the scopes it does hold. */
export interface LimitedApiKey {
  key: string;
  scopes: readonly string[];
}

/**
 * One request that makes a write route answer 2xx (the audit check tries it before its generated bodies).
 * `params` fill the URL's `:names`; without them a `:id` takes an id an earlier POST answered with.
 */
export interface WriteSample {
  body?: unknown;
  params?: Record<string, string>;
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
  /**
   * A second key lacking some scope the routes require (e.g. `items:read` only). The auth check expects
   * 403 from every route needing a scope it lacks, and no 401/403 where it holds them all. Without it,
   * scope enforcement is reported as not checked.
   */
  limitedApiKey?: LimitedApiKey;
  /**
   * Requests that make write routes answer 2xx, by `'METHOD /path'` as the route table spells it (a
   * trailing slash does not matter), e.g. `{ 'POST /orders': { body: { sku: 'seeded-sku', quantity: 1 } } }`.
   * Build whatever they need (a row they refer to) in the build function. A write route that never
   * answers 2xx is reported as not checked.
   */
  writeSamples?: Readonly<Record<string, WriteSample | readonly WriteSample[]>>;
  /** Releases what the build opened besides the app (database...); the kit closes the app itself. */
  close?: () => Promise<void>;
}

/**
 * Builds a fresh target. The kit calls it once for each group of checks that share a target (three
 * builds for all eleven checks), once per check with `isolateChecks`, and again when the schema sweep meets
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
  'protocol',
] as const;

export type CheckName = (typeof CHECK_NAMES)[number];

export interface HardeningOptions {
  /** Checks to run; default all of CHECK_NAMES. */
  checks?: readonly CheckName[];
  /** Routes with no `config.auth` that may answer without a key (infrastructure routes). */
  infrastructurePaths?: readonly string[];
  /** Write routes (`'POST /webhooks'`) allowed to be `auth: 'public'`; any other public write fails. */
  publicWriteRoutes?: readonly string[];
  /** Routes allowed to declare `auth: { scopes: [] }` (any valid key); any other empty scope list fails. */
  anyKeyRoutes?: readonly string[];
  /** Routes allowed to go without a rate limit (`config.rateLimit: false`, or no RateLimit headers). */
  rateLimitExempt?: readonly string[];
  /** Extension members a problem body may carry besides type, title, status, detail, code, errors, requestId, instance. */
  problemExtensions?: readonly string[];
  /** Turn every "KIT NOT CHECKED" line (printed by default) into a failure of its check. */
  failOnNotChecked?: boolean;
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
   * Give every check a target of its own (eleven builds instead of three). By default checks that leave the
   * app as they found it share one, and those that end it (rate limit spent, shutdown begun) run last or
   * alone; isolate when a check's failure might come from what another did before it.
   */
  isolateChecks?: boolean;
}

export const HARDENING_DEFAULTS = {
  checks: CHECK_NAMES,
  infrastructurePaths: ['/health/live', '/health/ready', '/metrics'],
  publicWriteRoutes: [],
  anyKeyRoutes: [],
  rateLimitExempt: [],
  problemExtensions: [],
  failOnNotChecked: false,
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

const ROUTE_KEY = /^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS)\s+(\/\S*)$/i;

/** `'POST /orders/'` and `'post /orders'` name the same route: upper-case method, no trailing slash. */
export function routeKey(method: string, url: string): string {
  return `${method.toUpperCase()} ${url.length > 1 ? url.replace(/\/+$/, '') : url}`;
}

function routeList(name: string, values: readonly string[]): string[] {
  if (!Array.isArray(values)) throw invalid(`${name} must be an array of 'METHOD /path' strings`);
  return values.map((value) => {
    const match = typeof value === 'string' ? ROUTE_KEY.exec(value.trim()) : null;
    if (!match?.[1] || !match[2])
      throw invalid(`${name}: ${JSON.stringify(value)} is not a route like 'POST /orders'`);
    return routeKey(match[1], match[2]);
  });
}

function names(name: string, values: readonly string[]): string[] {
  if (!Array.isArray(values) || !values.every((value) => typeof value === 'string' && value.length > 0))
    throw invalid(`${name} must be an array of non-empty strings`);
  return [...values];
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
    publicWriteRoutes: routeList('publicWriteRoutes', merged.publicWriteRoutes),
    anyKeyRoutes: routeList('anyKeyRoutes', merged.anyKeyRoutes),
    rateLimitExempt: routeList('rateLimitExempt', merged.rateLimitExempt),
    problemExtensions: names('problemExtensions', merged.problemExtensions),
    failOnNotChecked: flag('failOnNotChecked', merged.failOnNotChecked),
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
