import Type, { type Static } from 'typebox';
import Value from 'typebox/value';

/**
 * Every variable this service reads, with its type and default. This file is the only place that
 * touches `process.env`; everything below it takes the parsed config as an argument.
 */
export const EnvSchema = Type.Object({
  NODE_ENV: Type.Union([Type.Literal('development'), Type.Literal('test'), Type.Literal('production')], {
    default: 'development',
    description: 'Runtime mode.',
  }),
  HOST: Type.String({ minLength: 1, default: '127.0.0.1', description: 'Interface to listen on.' }),
  PORT: Type.Integer({
    minimum: 0,
    maximum: 65535,
    default: 3000,
    description: 'TCP port; 0 picks a free one.',
  }),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((level) => Type.Literal(level)),
    { default: 'info', description: 'pino log level.' },
  ),
  SHUTDOWN_GRACE_MS: Type.Integer({
    minimum: 0,
    maximum: 600_000,
    default: 10_000,
    description: 'How long in-flight requests may take to finish after SIGTERM before the process exits 1.',
  }),
  SERVICE_VERSION: Type.String({ default: '0.0.0', description: 'Reported by /health/ready.' }),
  GIT_COMMIT: Type.String({ default: 'unknown', description: 'Reported by /health/ready.' }),
});

export type Env = Static<typeof EnvSchema>;

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

function describe(schema: unknown): string {
  const description = (schema as { description?: unknown } | undefined)?.description;
  return typeof description === 'string' ? ` (${description})` : '';
}

/**
 * Parses the variables this service knows from `source` (normally `process.env`). Empty strings count as
 * unset, so `PORT=` falls back to the default instead of failing on "".
 */
export function parseEnv(source: Readonly<Record<string, string | undefined>>): Env {
  const known: Record<string, unknown> = {};
  for (const key of Object.keys(EnvSchema.properties)) {
    const value = source[key];
    if (value !== undefined && value !== '') known[key] = value;
  }
  const candidate = Value.Default(EnvSchema, Value.Convert(EnvSchema, known));
  if (Value.Check(EnvSchema, candidate)) return candidate;

  const problems = Value.Errors(EnvSchema, candidate).map((error) => {
    const name = error.instancePath.replace(/^\//, '') || '(root)';
    const schema = EnvSchema.properties[name as keyof typeof EnvSchema.properties];
    return `${name}=${JSON.stringify(source[name] ?? '')}: ${error.message}${describe(schema)}`;
  });
  throw new EnvError([...new Set(problems)]);
}
