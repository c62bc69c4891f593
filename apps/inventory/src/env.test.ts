import { describe, expect, it } from 'vitest';
import { EnvError, parseEnv } from './env.ts';

function problemsOf(source: Record<string, string>): readonly string[] {
  try {
    parseEnv(source);
  } catch (error) {
    expect(error).toBeInstanceOf(EnvError);
    return (error as EnvError).problems;
  }
  throw new Error('expected parseEnv to throw');
}

describe('parseEnv', () => {
  it('applies defaults when nothing is set', () => {
    const env = parseEnv({});
    expect(env).toMatchObject({ HOST: '127.0.0.1', PORT: 3001, LOG_LEVEL: 'info', NODE_ENV: 'development' });
    expect(env.DATABASE_URL).toBeUndefined();
  });

  it('coerces numbers and treats empty strings as unset', () => {
    expect(parseEnv({ PORT: '8080', SHUTDOWN_GRACE_MS: '' })).toMatchObject({
      PORT: 8080,
      SHUTDOWN_GRACE_MS: 10_000,
    });
  });

  it('ignores variables it does not know', () => {
    expect(parseEnv({ PATH: '/bin', PORT: '1' })).not.toHaveProperty('PATH');
  });

  it.each([
    ['PORT', 'not-a-port'],
    ['PORT', '70000'],
    ['LOG_LEVEL', 'loud'],
    ['NODE_ENV', 'staging'],
    ['RATE_LIMIT_FAILURE_POLICY', 'sometimes'],
    ['LOAD_SHEDDING', 'maybe'],
    ['RATE_LIMIT_WINDOW_MS', '86400001'],
  ])('rejects %s=%s with an error naming the variable', (name, value) => {
    const problems = problemsOf({ [name]: value });
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.every((problem) => problem.startsWith(`${name}=${JSON.stringify(value)}`))).toBe(true);
  });

  it.each([
    ['PORT', '3000.5'],
    ['PORT', 'true'],
    ['PORT', '0x50'],
    ['SHUTDOWN_GRACE_MS', '1.9'],
    ['RATE_LIMIT_MAX', '1e3'],
  ])('refuses %s=%s: whole numbers in decimal digits only, never rounded', (name, value) => {
    expect(problemsOf({ [name]: value })).toEqual([
      expect.stringContaining(`${name}=${JSON.stringify(value)}: must be a whole number`),
    ]);
  });

  it('names the choices of a choice variable, once', () => {
    expect(problemsOf({ LOG_LEVEL: 'verbose' })).toEqual([
      'LOG_LEVEL="verbose": must be one of fatal, error, warn, info, debug, trace, silent (pino log level.)',
    ]);
  });

  it('refuses a task schema pg-boss would refuse', () => {
    expect(problemsOf({ TASKS_SCHEMA: 'a'.repeat(49) })[0]).toMatch(/^TASKS_SCHEMA="a+": /);
    expect(parseEnv({ TASKS_SCHEMA: 'a'.repeat(48) }).TASKS_SCHEMA).toHaveLength(48);
  });

  it('takes a drain delay only below the grace period it is part of', () => {
    expect(parseEnv({ SHUTDOWN_DRAIN_MS: '5000', SHUTDOWN_GRACE_MS: '20000' }).SHUTDOWN_DRAIN_MS).toBe(5_000);
    expect(parseEnv({}).SHUTDOWN_DRAIN_MS).toBe(0);
    expect(problemsOf({ SHUTDOWN_DRAIN_MS: '10000' })).toEqual([
      'SHUTDOWN_DRAIN_MS="10000": must be below SHUTDOWN_GRACE_MS (10000), which it is part of',
    ]);
  });

  it('refuses a REDIS_URL that is not a URL, naming the variable, not the value', () => {
    expect(problemsOf({ REDIS_URL: 'redis://:pw@127.0.0.1:abc' })).toEqual([
      'REDIS_URL=<hidden>: is not a URL (redis://[user:password@]host[:port][/database])',
    ]);
  });

  it('never prints a secret value', () => {
    const problems = problemsOf({ DATABASE_URL: 'mysql://user:hunter2@db', API_KEY_PEPPER: 'short-secret' });
    expect(problems.join('\n')).not.toMatch(/hunter2|short-secret/);
    expect(problems.some((problem) => problem.startsWith('DATABASE_URL=<hidden>'))).toBe(true);
  });

  it('requires an API key pepper in production', () => {
    expect(problemsOf({ NODE_ENV: 'production' })[0]).toMatch(
      /^API_KEY_PEPPER=.*required when NODE_ENV=production/,
    );
    expect(parseEnv({ NODE_ENV: 'production', API_KEY_PEPPER: 'x'.repeat(32) }).API_KEY_PEPPER).toHaveLength(
      32,
    );
  });
});
