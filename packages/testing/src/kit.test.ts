import { startTracing, type Tracing } from '@rampart/observability';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFixture, type FixtureOptions } from '../test/fixture-app.ts';
import {
  type BuildTarget,
  CHECK_NAMES,
  type CheckName,
  formatResult,
  type HardeningTarget,
  runHardeningCheck,
  runHardeningChecks,
} from './index.ts';

let tracing: Tracing;
beforeAll(async () => {
  tracing = await startTracing({ service: 'fixture', exporter: 'memory', sampleRatio: 1 });
});
afterAll(async () => {
  await tracing.shutdown();
});

const OPTIONS = { randomPaths: 1_000, seed: 42 };
const builder =
  (fixture: FixtureOptions = {}, change?: (target: HardeningTarget) => HardeningTarget): BuildTarget =>
  async (io) => {
    const target = await buildFixture(io, tracing, fixture);
    return change ? change(target) : target;
  };
const run = (
  check: CheckName,
  fixture: FixtureOptions = {},
  change?: (target: HardeningTarget) => HardeningTarget,
) => runHardeningCheck(check, builder(fixture, change), OPTIONS);

/** Every check on targets shared as the kit shares them by default; the verdict of `check`. */
const runShared = async (
  check: CheckName,
  fixture: FixtureOptions = {},
  change?: (target: HardeningTarget) => HardeningTarget,
) => {
  const results = await runHardeningChecks(builder(fixture, change), OPTIONS);
  const result = results.find((candidate) => candidate.check === check);
  if (!result) throw new Error(`no result for ${check}`);
  return result;
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

describe('shared targets', () => {
  const counted = (fixture: FixtureOptions) => {
    const built: string[] = [];
    const build: BuildTarget = async (io) => {
      built.push(io.canary);
      return buildFixture(io, tracing, fixture);
    };
    return { build, built };
  };

  it('all ten checks pass on three targets, each shared target with its own canary and log stream', async () => {
    const { build, built } = counted({ database: true });
    const results = await runHardeningChecks(build, OPTIONS);
    expect(results.map((result) => [result.check, result.failures])).toEqual(
      CHECK_NAMES.map((check) => [check, []]),
    );
    // Three targets, plus the schema sweep's rebuild at its first 429 (it sends 3 routes x 30 runs, the
    // fixture allows 60 a minute), which keeps the canary of the target it replaces.
    expect(built).toHaveLength(4);
    expect(new Set(built).size).toBe(3);
    const sharedWith = Object.fromEntries(results.map((result) => [result.check, result.sharedWith]));
    expect(sharedWith.readiness).toEqual([
      'auth',
      'trace-context',
      'bad-input',
      'audit',
      'canary-secret',
      'metrics',
    ]);
    expect(sharedWith['rate-limit']).toEqual(['schema-sweep']);
    expect(sharedWith['security-headers']).toEqual([]);
  }, 120_000);

  it('isolateChecks builds a fresh target for every check', async () => {
    const { build, built } = counted({});
    const results = await runHardeningChecks(build, { ...OPTIONS, isolateChecks: true });
    expect(results.every((result) => result.ok && result.sharedWith.length === 0)).toBe(true);
    // Ten targets and the sweep's rebuild.
    expect(built).toHaveLength(11);
  }, 120_000);

  it('a failure on a shared target says what ran on it before, and how to isolate', async () => {
    const results = await runHardeningChecks(builder({ without: 'shutdown' }), OPTIONS);
    const readiness = results.find((result) => result.check === 'readiness');
    expect(readiness?.ok).toBe(false);
    expect(formatResult(readiness!)).toContain(
      '(it ran on an app that auth, trace-context, bad-input, audit, canary-secret, metrics ran on first; isolateChecks: true gives it a fresh one)',
    );
  }, 120_000);

  it('a check that crashes releases its target, and the next check on it gets a fresh build', async () => {
    const { build, built } = counted({});
    let spansCalls = 0;
    const crashing: BuildTarget = async (io) => {
      const target = await build(io);
      return {
        ...target,
        spans: () => {
          spansCalls += 1;
          throw new Error('span reader broke');
        },
      };
    };
    const results = await runHardeningChecks(crashing, {
      ...OPTIONS,
      checks: ['auth', 'trace-context', 'bad-input'],
    });
    expect(spansCalls).toBeGreaterThan(0);
    expect(results.map((result) => [result.check, result.ok])).toEqual([
      ['auth', true],
      ['trace-context', false],
      ['bad-input', true],
    ]);
    expect(results[1]?.failures.join('\n')).toContain(
      'trace-context: the check could not run: span reader broke',
    );
    expect(results[2]?.sharedWith).toEqual([]);
    expect(built).toHaveLength(2);
  }, 60_000);
});

// Alone, each check gets a fresh target; shared, it runs after the checks planned before it on the same
// target (as describeHardening runs them by default) and must still catch the missing piece.
describe.each([
  ['alone', run],
  ['shared', runShared],
] as const)('each check fails, naming what is missing (%s)', (_mode, runCheck) => {
  const failuresOf = async (...args: Parameters<typeof run>) => {
    const result = await runCheck(...args);
    expect(result.ok).toBe(false);
    return result.failures.join('\n');
  };

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
    // Shared, canary-secret has spent the default address's failed-auth allowance (3 in the fixture): the
    // unknown /metrics answers 429 instead of 401, and the check fails all the same.
    expect(await failuresOf('metrics', { without: 'observability' })).toMatch(
      /GET \/metrics answered (401|429): is the observability plugin registered\?/,
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
