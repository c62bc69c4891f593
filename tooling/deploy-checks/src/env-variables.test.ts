import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isSecretVariable, readEnvVariables } from './env-variables.ts';

describe('readEnvVariables', () => {
  it('reads the keys of the generated EnvSchema', () => {
    const source = readFileSync(new URL('../test/fixtures/env.ts.txt', import.meta.url), 'utf8');
    const { variables, problems } = readEnvVariables(source, 'env.ts');
    expect(problems).toEqual([]);
    expect([...variables]).toEqual(
      expect.arrayContaining(['PORT', 'WORKER_HEALTH_PORT', 'DATABASE_URL', 'API_KEY_PEPPER']),
    );
    expect(variables.has('Type')).toBe(false);
  });

  it('reports a file without an EnvSchema', () => {
    expect(readEnvVariables('export const x = 1;\n', 'src/env.ts').problems).toEqual([
      {
        file: 'src/env.ts',
        rule: 'env-schema',
        message: 'no `export const EnvSchema = Type.Object({` found',
      },
    ]);
  });
});

describe('isSecretVariable', () => {
  it.each([
    ['DATABASE_URL', true],
    ['REDIS_URL', true],
    ['API_KEY_PEPPER', true],
    ['METRICS_TOKEN', true],
    ['ENCRYPTION_KEYS', true],
    ['WEBHOOK_SECRET', true],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', false],
    ['OTEL_EXPORTER_OTLP_HEADERS', true],
    ['OTEL_EXPORTER_OTLP_TRACES_HEADERS', true],
    ['OTEL_EXPORTER_OTLP_CLIENT_KEY', false],
    ['PORT', false],
    ['DATA_DIR', false],
    ['RATE_LIMIT_MAX', false],
  ])('%s -> %s', (name, secret) => {
    expect(isSecretVariable(name)).toBe(secret);
  });
});
