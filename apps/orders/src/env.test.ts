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
    expect(env).toMatchObject({ HOST: '127.0.0.1', PORT: 3002, LOG_LEVEL: 'info', NODE_ENV: 'development' });
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
  ])('rejects %s=%s with an error naming the variable', (name, value) => {
    const problems = problemsOf({ [name]: value });
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.every((problem) => problem.startsWith(`${name}=${JSON.stringify(value)}`))).toBe(true);
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
    const production = {
      NODE_ENV: 'production',
      API_KEY_PEPPER: 'x'.repeat(32),
      FIELD_ENCRYPTION_KEYS: `1:${Buffer.alloc(32, 7).toString('base64')}`,
      INVENTORY_API_KEY: 'rk_live_inventory_key_for_orders',
    };
    expect(parseEnv(production).API_KEY_PEPPER).toHaveLength(32);
  });
});
