import Type, { type Static } from 'typebox';
import Value from 'typebox/value';

/**
 * Every variable this service reads, with its type and default. This file is the only place that
 * touches `process.env`; everything below it takes the parsed config as an argument. The OTEL_*
 * variables are read by `@rampart/observability/register` (run first by the bundled dist/server.js, or
 * with `node --import` in development) before this file runs; they are listed here so one file
 * describes the whole environment.
 */
export const EnvSchema = Type.Object({
  NODE_ENV: Type.Union([Type.Literal('development'), Type.Literal('test'), Type.Literal('production')], {
    default: 'development',
    description: 'Runtime mode; production requires API_KEY_PEPPER.',
  }),
  HOST: Type.String({ minLength: 1, default: '127.0.0.1', description: 'Interface to listen on.' }),
  PORT: Type.Integer({
    minimum: 0,
    maximum: 65535,
    default: 3000,
    description: 'TCP port; 0 picks a free one.',
  }),
  WORKER_HEALTH_PORT: Type.Integer({
    minimum: 0,
    maximum: 65535,
    default: 4000,
    description: "The worker process's /health/live and /health/ready port.",
  }),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((level) => Type.Literal(level)),
    { default: 'info', description: 'pino log level.' },
  ),
  SHUTDOWN_GRACE_MS: Type.Integer({
    minimum: 1,
    maximum: 600_000,
    default: 10_000,
    description: 'How long in-flight work may take to finish after SIGTERM before the process exits 1.',
  }),
  SHUTDOWN_DRAIN_MS: Type.Integer({
    minimum: 0,
    maximum: 60_000,
    default: 0,
    description:
      'After SIGTERM, keep serving this long with readiness 503 before the listener closes, so load balancers stop sending traffic first (Kubernetes: a few seconds); part of SHUTDOWN_GRACE_MS.',
  }),
  SERVICE_VERSION: Type.String({ default: '0.0.0', description: 'Reported by /health/ready.' }),
  GIT_COMMIT: Type.String({ default: 'unknown', description: 'Reported by /health/ready.' }),
  DATABASE_URL: Type.Optional(
    Type.String({
      pattern: '^postgres(ql)?://',
      description: 'PostgreSQL; unset means embedded PGlite in DATA_DIR.',
    }),
  ),
  DATA_DIR: Type.String({
    minLength: 1,
    default: '.data/api',
    description: 'PGlite data directory when DATABASE_URL is unset; "memory" keeps it in memory.',
  }),
  DB_POOL_SIZE: Type.Integer({ minimum: 1, maximum: 200, default: 10, description: 'PostgreSQL pool size.' }),
  TASKS_IN_PROCESS: Type.Union([Type.Literal('auto'), Type.Literal('true'), Type.Literal('false')], {
    default: 'auto',
    description:
      'Run background tasks in the API process; auto: only on embedded PGlite, which one process owns (on PostgreSQL the worker process runs them).',
  }),
  TASKS_SCHEMA: Type.String({
    pattern: '^[a-z_][a-z0-9_]{0,47}$',
    default: 'rampart_tasks',
    description: "The task queue's (pg-boss's) schema.",
  }),
  REDIS_URL: Type.Optional(
    Type.String({
      pattern: '^rediss?://',
      description: 'Redis for rate limits shared by every instance; unset means in memory.',
    }),
  ),
  RATE_LIMIT_MAX: Type.Integer({
    minimum: 1,
    default: 100,
    description: 'Requests per window per API key (else per client address).',
  }),
  RATE_LIMIT_WINDOW_MS: Type.Integer({
    minimum: 1_000,
    maximum: 86_400_000,
    default: 60_000,
    description: 'Rate limit window (at most 24 hours).',
  }),
  RATE_LIMIT_FAILURE_POLICY: Type.Union([Type.Literal('open'), Type.Literal('closed')], {
    default: 'open',
    description: 'When Redis is down: let requests through (open) or answer 503 (closed).',
  }),
  TRUSTED_PROXIES: Type.String({
    default: '',
    description: 'Comma-separated addresses/CIDRs whose X-Forwarded-For is believed.',
  }),
  API_KEY_PEPPER: Type.Optional(
    Type.String({
      minLength: 32,
      description: 'Secret mixed into every API key hash; required in production.',
    }),
  ),
  METRICS_TOKEN: Type.Optional(
    Type.String({ minLength: 16, description: 'When set, /metrics requires Authorization: Bearer <token>.' }),
  ),
  BODY_LIMIT_BYTES: Type.Integer({
    minimum: 1_024,
    default: 1_048_576,
    description: 'Largest request body.',
  }),
  REQUEST_TIMEOUT_MS: Type.Integer({
    minimum: 1_000,
    maximum: 600_000,
    default: 30_000,
    description:
      'Longest a request may take to arrive, headers and body; a slower client (slowloris) gets 408 and is disconnected.',
  }),
  LOAD_SHEDDING: Type.Union([Type.Literal('on'), Type.Literal('off')], {
    default: 'on',
    description:
      'Answer 503 + Retry-After while requests queue in the process (mean event-loop delay over 1 s); a busy but healthy service is not shed. Off only for tests on a shared machine.',
  }),
  OTEL_SERVICE_NAME: Type.Optional(
    Type.String({
      description:
        'Read by the register hook; unset: unknown_service:node (deploy/k8s sets the service name).',
    }),
  ),
  OTEL_EXPORTER_OTLP_ENDPOINT: Type.Optional(
    Type.String({
      pattern: '^https?://',
      description: 'Read by the register hook: export traces over OTLP/HTTP.',
    }),
  ),
  OTEL_TRACES_SAMPLER: Type.Optional(
    Type.String({
      description:
        'Read by the register hook: the sampler; parentbased_traceidratio samples OTEL_TRACES_SAMPLER_ARG of the traces that start here.',
    }),
  ),
  OTEL_TRACES_SAMPLER_ARG: Type.Optional(
    Type.String({ description: 'Read by the register hook: sampling ratio.' }),
  ),
});

export type Env = Static<typeof EnvSchema>;

/** Only for development and tests: production refuses to start without API_KEY_PEPPER. */
export const DEVELOPMENT_PEPPER = 'development-only-pepper-never-use-in-production';

/** Start-up fails with this when a variable is missing or malformed; the message names each variable. */
export class EnvError extends Error {
  readonly code = 'RAMPART_ENV_INVALID';
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid environment:\n  ${problems.join('\n  ')}`);
    this.name = 'EnvError';
    this.problems = problems;
  }
}

const SECRET = /PEPPER|TOKEN|URL/;

function describe(schema: unknown): string {
  const description = (schema as { description?: unknown } | undefined)?.description;
  return typeof description === 'string' ? ` (${description})` : '';
}

/** For a choice (a union of literals): one message naming the choices, where TypeBox gives two that do not. */
function choices(schema: unknown): string | undefined {
  const options = (schema as { anyOf?: Array<{ const?: unknown }> } | undefined)?.anyOf?.map(
    (option) => option.const,
  );
  return options?.every((option) => typeof option === 'string')
    ? `must be one of ${options.join(', ')}`
    : undefined;
}

/**
 * Parses the variables this service knows from `source` (normally `process.env`). Empty strings count as
 * unset, so `PORT=` falls back to the default instead of failing on "". Secret values never appear in
 * the error message.
 */
export function parseEnv(source: Readonly<Record<string, string | undefined>>): Env {
  const known: Record<string, unknown> = {};
  const problems: string[] = [];
  const shown = (name: string) => (SECRET.test(name) ? '<hidden>' : JSON.stringify(source[name] ?? ''));
  for (const key of Object.keys(EnvSchema.properties)) {
    const value = source[key];
    if (value === undefined || value === '') continue;
    const schema = EnvSchema.properties[key as keyof typeof EnvSchema.properties];
    // Whole numbers in decimal digits only: TypeBox's Convert reads 3000.5 as 3000 and true as 1.
    if ((schema as { type?: unknown }).type === 'integer' && !/^-?\d+$/.test(value)) {
      problems.push(`${key}=${shown(key)}: must be a whole number${describe(schema)}`);
    } else known[key] = value;
  }
  const candidate = Value.Default(EnvSchema, Value.Convert(EnvSchema, known));
  if (!Value.Check(EnvSchema, candidate)) {
    for (const error of Value.Errors(EnvSchema, candidate)) {
      const name = error.instancePath.replace(/^\//, '') || '(root)';
      const schema = EnvSchema.properties[name as keyof typeof EnvSchema.properties];
      problems.push(`${name}=${shown(name)}: ${choices(schema) ?? error.message}${describe(schema)}`);
    }
  } else {
    if (candidate.NODE_ENV === 'production' && candidate.API_KEY_PEPPER === undefined) {
      problems.push('API_KEY_PEPPER="": is required when NODE_ENV=production (at least 32 characters)');
    }
    if (candidate.SHUTDOWN_DRAIN_MS >= candidate.SHUTDOWN_GRACE_MS) {
      problems.push(
        `SHUTDOWN_DRAIN_MS=${shown('SHUTDOWN_DRAIN_MS')}: must be below SHUTDOWN_GRACE_MS (${candidate.SHUTDOWN_GRACE_MS}), which it is part of`,
      );
    }
    if (candidate.REDIS_URL !== undefined && !URL.canParse(candidate.REDIS_URL)) {
      problems.push('REDIS_URL=<hidden>: is not a URL (redis://[user:password@]host[:port][/database])');
    }
  }
  if (problems.length > 0) throw new EnvError([...new Set(problems)]);
  return candidate as Env;
}
