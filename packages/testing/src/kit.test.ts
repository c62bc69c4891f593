import { startTracing, type Tracing } from '@rampart/observability';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFixture, type FixtureOptions } from '../test/fixture-app.ts';
import { CHECK_NAMES, type CheckName, type HardeningTarget, runHardeningCheck } from './index.ts';

let tracing: Tracing;
beforeAll(async () => {
  tracing = await startTracing({ service: 'fixture', exporter: 'memory', sampleRatio: 1 });
});
afterAll(async () => {
  await tracing.shutdown();
});

const OPTIONS = { randomPaths: 1_000, seed: 42 };
const run = (
  check: CheckName,
  fixture: FixtureOptions = {},
  change?: (target: HardeningTarget) => HardeningTarget,
) =>
  runHardeningCheck(
    check,
    async (io) => {
      const target = await buildFixture(io, tracing, fixture);
      return change ? change(target) : target;
    },
    OPTIONS,
  );

const failuresOf = async (...args: Parameters<typeof run>) => {
  const result = await run(...args);
  expect(result.ok).toBe(false);
  return result.failures.join('\n');
};

describe('a service with every piece passes every check', () => {
  it.each(CHECK_NAMES)(
    '%s',
    async (check) => {
      // Real managed keys and the real audit trail where the check reads them; PGlite's cold start is too slow for every check.
      const result = await run(check, { database: check === 'audit' });
      expect(result.failures).toEqual([]);
      expect(result.ok).toBe(true);
    },
    60_000,
  );
});

describe('each check fails, naming what is missing', () => {
  it('auth: a route registered without an auth decision', async () => {
    expect(await failuresOf('auth', { unprotectedRoute: true })).toContain(
      'GET /internal/report answered 200 without an API key, want 401 (the route declares no config.auth)',
    );
  });

  it('rate-limit: no rate-limit registration', async () => {
    const failures = await failuresOf('rate-limit', { without: 'rate-limit' });
    expect(failures).toContain(
      'GET /items answered 200 without a RateLimit-Limit header: is the rate limit registered?',
    );
    expect(failures).toContain('GET /items never answered 429 in 1000 requests');
  });

  it('security-headers: no headers plugin', async () => {
    const failures = await failuresOf('security-headers', { without: 'headers' });
    for (const status of [200, 401, 503])
      expect(failures).toMatch(new RegExp(`security-headers: ${status} on .*x-frame-options missing`));
  });

  it('metrics: no observability plugin', async () => {
    expect(await failuresOf('metrics', { without: 'observability' })).toContain(
      'GET /metrics answered 401: is the observability plugin registered?',
    );
  });

  it('metrics: a metric labelled by raw path grows with random paths', async () => {
    expect(await failuresOf('metrics', { pathLabelledMetric: true })).toMatch(
      /1000 random paths added \d+ series, e.g. fixture_requests_by_path_total/,
    );
  });

  it('trace-context: no observability plugin, so no span and no trace id in logs', async () => {
    const failures = await failuresOf('trace-context', { without: 'observability' });
    expect(failures).toMatch(
      /no span of trace [0-9a-f]{32} has the incoming span [0-9a-f]{16} as parent \(GET \/items\)/,
    );
    expect(failures).toMatch(/no log line carries trace_id/);
  });

  it('trace-context: a target that gives no span reader', async () => {
    const failures = await failuresOf('trace-context', {}, ({ spans: _spans, ...target }) => target);
    expect(failures).toContain('the target gives no spans() reader');
  });

  it('bad-input: no problem+json error handler', async () => {
    const failures = await failuresOf('bad-input', { without: 'errors' });
    expect(failures).toContain('POST /items answered 400 to malformed JSON but not as problem+json');
    expect(failures).toContain('POST /items answered 413 to a body over the limit but not as problem+json');
  });

  it('schema-sweep: a route that crashes on an input its schema allows', async () => {
    expect(await failuresOf('schema-sweep', { crashesOnInput: true })).toMatch(
      /schema-sweep: POST \/items answered 500 to POST \/items/,
    );
  });

  it('schema-sweep: a route whose answer breaks its response schema', async () => {
    expect(await failuresOf('schema-sweep', { breaksResponseSchema: true })).toMatch(
      /POST \/items answered 201 with a body that breaks its own response schema/,
    );
  });

  it('canary-secret: a route that logs the Authorization header', async () => {
    expect(await failuresOf('canary-secret', { logsAuthorization: true })).toMatch(
      /canary-secret: the secret appeared in \d+ log line\(s\)/,
    );
  });

  it('audit: a write without an audit record', async () => {
    expect(await failuresOf('audit', { without: 'audit' })).toContain(
      'audit: POST /items answered 201 but wrote no audit record',
    );
  });

  it('readiness: readiness that ignores shutdown', async () => {
    expect(await failuresOf('readiness', { without: 'shutdown' })).toContain(
      'GET /health/ready answered 200 after beginShutdown, want 503',
    );
  });
});
