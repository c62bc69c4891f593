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

  it('all eleven checks pass on three targets, each shared target with its own canary and log stream', async () => {
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
    expect(sharedWith['security-headers']).toEqual(['protocol']);
    expect(sharedWith.protocol).toEqual([]);
  }, 120_000);

  it('isolateChecks builds a fresh target for every check', async () => {
    const { build, built } = counted({});
    const results = await runHardeningChecks(build, { ...OPTIONS, isolateChecks: true });
    expect(results.every((result) => result.ok && result.sharedWith.length === 0)).toBe(true);
    // Eleven targets and the sweep's rebuild.
    expect(built).toHaveLength(12);
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
      'rate-limit: POST /items answered 400 without a RateLimit-Limit header: no rate limit applies to it',
    );
    expect(failures).toContain(
      'GET /items answered 200 without a RateLimit-Limit header: is the rate limit registered?',
    );
    expect(failures).toContain('GET /items never answered 429 in 1000 requests');
  });

  it('security-headers: no headers plugin', async () => {
    const failures = await failuresOf('security-headers', { without: 'headers' });
    for (const status of [200, 401, 503])
      expect(failures).toMatch(new RegExp(`security-headers: ${status} on .*x-frame-options missing`));
    expect(failures).toMatch(/security-headers: 200 on GET \/items with a key: .*cache-control missing/);
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

  it('canary-secret: a logger whose redaction reaches one level down (pino paths only)', async () => {
    const failures = await failuresOf('canary-secret', { shallowRedaction: true });
    expect(failures).toMatch(/canary-secret: an object logged with the secret nested in it was written/);
    expect(failures).toContain('redactValue: redactSecrets');
    // Requests, headers and bodies are still kept out by the paths: only the nested line fails.
    expect(failures).not.toMatch(/the secret appeared in \d+ log line/);
  });

  it('audit: a write without an audit record', async () => {
    expect(await failuresOf('audit', { without: 'audit' })).toContain(
      'audit: POST /items answered 201 but wrote no audit record',
    );
  });

  it("error-body: a route plugin's error handler that sends the error's stack and message", async () => {
    // The 401 comes from the auth hook, the 404 from inside the handler: both reach the plugin's handler.
    expect(await failuresOf('auth', { leakyErrors: true })).toMatch(
      /error-body: 401 to GET \/items: a stack frame \("at .*"\); .*internal field\(s\) "stack"; .*"code" is undefined, want a stable RAMPART_\* code/,
    );
    expect(await failuresOf('schema-sweep', { leakyErrors: true })).toMatch(
      /error-body: 404 to GET \/items\/[0-9a-f-]{36}: a stack frame \("at .*fixture-app\.ts:\d+:\d+/,
    );
  });

  it('auth: a write route declared public', async () => {
    expect(await failuresOf('auth', { publicWrite: true })).toContain(
      "auth: POST /items is a write route declared auth: 'public': anyone may call it without a key; declare its scopes, or list it in publicWriteRoutes",
    );
  });

  it('auth: a write route that any valid key may call', async () => {
    expect(await failuresOf('auth', { unscopedWrite: true })).toContain(
      'auth: POST /items declares auth: { scopes: [] }: any valid key may call it, a read-only key included',
    );
  });

  it('auth: a scope the key store no longer enforces, found with limitedApiKey', async () => {
    expect(await failuresOf('auth', { limitedKey: true, verifierGrantsAll: true })).toContain(
      'auth: POST /items answered 400 to limitedApiKey, which lacks items:write, want 403: the scope is not enforced',
    );
  });

  it('rate-limit: a route that opts out of the rate limit', async () => {
    expect(await failuresOf('rate-limit', { rateLimitOff: true })).toContain(
      'rate-limit: POST /items opts out with config.rateLimit: false',
    );
  });

  it('metrics: a /metrics whose duration histogram is registered but never observed', async () => {
    const failures = await failuresOf('metrics', { metricsDecoy: true });
    expect(failures).toContain(
      'metrics: /metrics has no http_server_request_duration_seconds_bucket sample line (only its # HELP / # TYPE lines)',
    );
    expect(failures).toContain(
      'metrics: http_server_request_duration_seconds_count observed no duration for GET /items after a request to /items',
    );
    // The counter does count: only the histogram is reported.
    expect(failures).not.toContain('http_server_requests_total counted no request');
  });

  it('bad-input: a JSON parser without the prototype-poisoning guard', async () => {
    const failures = await failuresOf('bad-input', { ownJsonParser: true });
    expect(failures).toMatch(
      /bad-input: POST \/items answered (201|400 RAMPART_SECURITY_VALIDATION_FAILED) to a __proto__ payload, want 400 RAMPART_SECURITY_PROTOTYPE_POISONING/,
    );
    expect(failures).toMatch(
      /bad-input: POST \/items answered (201|400 RAMPART_SECURITY_VALIDATION_FAILED) to a constructor.prototype payload/,
    );
  });

  it('protocol: a JSON parser that takes encoded bodies and any charset', async () => {
    const failures = await failuresOf('protocol', { ownJsonParser: true });
    expect(failures).toContain(
      'protocol: POST /items with a gzip-encoded JSON body answered 400 RAMPART_SECURITY_BODY_MALFORMED, want 415 RAMPART_SECURITY_CONTENT_ENCODING_UNSUPPORTED',
    );
    expect(failures).toContain(
      'protocol: POST /items with a JSON body in charset=latin1 answered 201, want 415 RAMPART_SECURITY_MEDIA_TYPE_UNSUPPORTED',
    );
  });

  it('protocol: a plugin with its own not-found handler', async () => {
    const failures = await failuresOf('protocol', { ownNotFound: true });
    expect(failures).toContain(
      'protocol: PUT /reports/ (a method /reports/ does not serve, with a valid key) answered 404, want 405 RAMPART_SECURITY_METHOD_NOT_ALLOWED',
    );
    expect(failures).toMatch(
      /protocol: GET \/reports\/hardening-[0-9a-f/]+ \(no route, with a valid key\) answered 404 but not as application\/problem\+json/,
    );
    expect(failures).toMatch(
      /error-body: 404 to PUT \/reports\/: content-type "application\/json; charset=utf-8"/,
    );
  });

  it('readiness: readiness that ignores shutdown', async () => {
    expect(await failuresOf('readiness', { without: 'shutdown' })).toContain(
      'GET /health/ready answered 200 after beginShutdown, want 503',
    );
  });
});

describe('what a service declares on purpose passes, and what the kit cannot prove is reported', () => {
  it('each allow-list accepts the route it names, and only that', async () => {
    const auth = await runHardeningCheck('auth', builder({ publicWrite: true }), {
      ...OPTIONS,
      publicWriteRoutes: ['post /items/'],
    });
    expect(auth.failures).toEqual([]);
    const anyKey = await runHardeningCheck('auth', builder({ unscopedWrite: true }), {
      ...OPTIONS,
      anyKeyRoutes: ['POST /items'],
    });
    expect(anyKey.failures).toEqual([]);
    const rateLimit = await runHardeningCheck('rate-limit', builder({ rateLimitOff: true }), {
      ...OPTIONS,
      rateLimitExempt: ['POST /items'],
    });
    expect(rateLimit.failures).toEqual([]);
    const other = await runHardeningCheck('auth', builder({ publicWrite: true }), {
      ...OPTIONS,
      publicWriteRoutes: ['POST /orders'],
    });
    expect(other.failures.join('\n')).toContain("POST /items is a write route declared auth: 'public'");
  });

  it('auth: a limitedApiKey that the routes treat as their scopes say passes; one holding every scope fails', async () => {
    const limited = await run('auth', { limitedKey: true, database: true });
    expect(limited.failures).toEqual([]);
    expect(limited.notChecked).toEqual([]);
    expect(limited.notes).toContain('1 route(s) refused limitedApiKey with 403');
    const everything = await run('auth', { limitedKey: 'all-scopes' });
    expect(everything.failures.join('\n')).toContain(
      'auth: limitedApiKey holds every scope the routes declare (items:read, items:write, orders:write): give it fewer',
    );
  });

  it('auth: without limitedApiKey, scope enforcement is reported as not checked', async () => {
    const result = await run('auth');
    expect(result.ok).toBe(true);
    expect(result.notChecked).toEqual([
      expect.stringMatching(/^auth: scopes: no route was sent a key lacking its scope.*return limitedApiKey/),
    ]);
  });

  it('audit: a write no drawn body reaches is reported with its last answer and seed, not dropped', async () => {
    const result = await run('audit', { orders: true });
    expect(result.ok).toBe(true);
    expect(result.notChecked).toEqual([
      expect.stringMatching(
        /^audit: POST \/orders never answered 2xx in 10 attempt\(s\), last 422 RAMPART_FIXTURE_SKU_UNKNOWN \(seed 42\): its audit record is unchecked; return writeSamples: \{ 'POST \/orders': \{ body: <one that succeeds> \} \}/,
      ),
      expect.stringMatching(
        /^audit: DELETE \/orders\/:id never answered 2xx in 10 attempt\(s\), last 404 RAMPART_FIXTURE_ORDER_NOT_FOUND \(seed 42\).*\(or make the POST of \/orders succeed/,
      ),
    ]);
    expect(formatResult({ ...result, ok: false })).toContain(
      '(not checked: audit: POST /orders never answered 2xx',
    );
  });

  it('audit: writeSamples reach the write, its DELETE reuses the id, and both are audited', async () => {
    const result = await run('audit', { orders: true, writeSamples: true, database: true });
    expect(result.failures).toEqual([]);
    expect(result.notChecked).toEqual([]);
    expect(result.notes).toContain('3 successful write(s) checked');
  });

  it('audit: a sampled write without an audit record fails, naming the sample', async () => {
    const result = await run('audit', { orders: true, writeSamples: true, without: 'audit' });
    expect(result.failures).toContain(
      'audit: POST /orders answered 201 but wrote no audit record (POST /orders, body from writeSamples #1)',
    );
  });

  it('audit: writeSamples naming no write route fail at once', async () => {
    const result = await run('audit', {}, (target) => ({
      ...target,
      writeSamples: { 'POST /ordrs': { body: {} } },
    }));
    expect(result.failures.join('\n')).toContain(
      'audit: writeSamples names "POST /ordrs", which is not a write route of this app (routes: POST /items)',
    );
  });

  it('failOnNotChecked turns every not-checked line into a failure', async () => {
    const result = await runHardeningCheck('audit', builder({ orders: true }), {
      ...OPTIONS,
      failOnNotChecked: true,
    });
    expect(result.ok).toBe(false);
    expect(result.failures).toEqual([
      expect.stringMatching(/^not checked \(failOnNotChecked\): audit: POST \/orders never answered 2xx/),
      expect.stringMatching(
        /^not checked \(failOnNotChecked\): audit: DELETE \/orders\/:id never answered 2xx/,
      ),
    ]);
  });
});
