import { describe, expect, it } from 'vitest';
import { EnvError, parseEnv } from './env.ts';

describe('parseEnv', () => {
  it('applies defaults when nothing is set', () => {
    const env = parseEnv({});
    expect(env).toMatchObject({ HOST: '127.0.0.1', PORT: 3000, LOG_LEVEL: 'info', NODE_ENV: 'development' });
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
  ])('rejects %s=%s with an error naming the variable', (name, value) => {
    let caught: unknown;
    try {
      parseEnv({ [name]: value });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(EnvError);
    const envError = caught as EnvError;
    expect(envError.code).toBe('RAMPART_ENV_INVALID');
    expect(envError.problems.length).toBeGreaterThan(0);
    expect(envError.problems.every((problem) => problem.startsWith(`${name}=`))).toBe(true);
    expect(envError.message).toContain(JSON.stringify(value));
  });
});
