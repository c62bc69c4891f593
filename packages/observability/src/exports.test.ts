import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { OBSERVABILITY_ERRORS, observabilityErrorCodes } from './errors.ts';

describe('public surface', () => {
  it('pins the names of each entry', async () => {
    expect(Object.keys(await import('./index.ts')).sort()).toEqual([
      'ALERT_RULES_DEFAULTS',
      'DEFAULT_REDACT_PATHS',
      'LOGGER_DEFAULTS',
      'METRICS_DEFAULTS',
      'METRIC_NAMES',
      'OBSERVABILITY_ERRORS',
      'ObservabilityError',
      'QUERY_OBSERVER_DEFAULTS',
      'TRACING_DEFAULTS',
      'createLogger',
      'createMetrics',
      'createPolicyObserver',
      'createQueryObserver',
      'createTaskObserver',
      'generateAlertRules',
      'generateDashboard',
      'getTracing',
      'isObservabilityError',
      'observabilityErrorCodes',
      'readTracingConfig',
      'startTracing',
      'toYaml',
      'traceMixin',
    ]);
    expect(Object.keys(await import('./fastify.ts')).sort()).toEqual(['PLUGIN_DEFAULTS', 'observability']);
  });

  it('maps each package.json export to a source entry', () => {
    const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      exports: Record<string, { types: string; default: string }>;
    };
    expect(manifest.exports).toEqual({
      '.': { types: './dist/index.d.ts', default: './dist/index.js' },
      './fastify': { types: './dist/fastify.d.ts', default: './dist/fastify.js' },
      './register': { types: './dist/bin/register.d.ts', default: './dist/bin/register.js' },
    });
  });

  it('lists every error code in the README table with its status', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const rows = [...readme.matchAll(/^\|\s*`(RAMPART_OBSERVABILITY_[A-Z_]+)`\s*\|\s*(\d{3})\s*\|/gm)].map(
      (match) => [match[1], Number(match[2])],
    );
    expect(rows).toEqual(observabilityErrorCodes.map((code) => [code, OBSERVABILITY_ERRORS[code].status]));
  });
});
