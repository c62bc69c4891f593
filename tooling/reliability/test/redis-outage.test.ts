import { describe, expect, it } from 'vitest';
import {
  baseEnv,
  checkRedisBinary,
  createApiKey,
  type LoadRequest,
  type LoadResponse,
  reportFigures,
  runLoad,
  startApi,
  startRedisServer,
} from '../src/index.ts';
import { available, bounded, cleanup, compact, SHED, serverErrors, sleep, tempDir } from './support.ts';

/** A request belongs to the phase it was sent in: one sent before the kill may be answered after it. */
type Phase = 'before' | 'outage' | 'recovering' | 'after';

describe.runIf(available(checkRedisBinary(), 'Redis outage'))('Redis stopped under load', () => {
  it('the failure policy holds (open: served, closed: 503), never a 500, and limiting resumes', async () => {
    const redis = await startRedisServer();
    cleanup(() => redis.destroy());
    const boot = async (policy: 'open' | 'closed') => {
      const env = baseEnv({
        DATA_DIR: tempDir(`redis-${policy}`),
        REDIS_URL: redis.url,
        RATE_LIMIT_MAX: '1000000',
        RATE_LIMIT_FAILURE_POLICY: policy,
      });
      const key = await createApiKey(env, ['items:read']);
      const api = await startApi(env);
      cleanup(() => api.kill());
      return { api, key };
    };
    const [open, closed] = await Promise.all([boot('open'), boot('closed')]);
    let phase = 'before' as Phase;
    const byPhase: Record<'open' | 'closed', Record<Phase, Record<string, number>>> = {
      open: { before: {}, outage: {}, recovering: {}, after: {} },
      closed: { before: {}, outage: {}, recovering: {}, after: {} },
    };
    const sentIn = new WeakMap<object, Phase>();
    const stop = new AbortController();
    const drive = (name: 'open' | 'closed', target: { api: { url: string }; key: string }) =>
      runLoad({
        url: target.api.url,
        connections: 4,
        ratePerSecond: 100,
        durationMs: 60_000,
        maxRequests: 50_000,
        signal: stop.signal,
        // Limited by key id, in Redis.
        next: () => {
          const request: LoadRequest = {
            method: 'GET',
            path: '/items?limit=1',
            headers: { 'x-api-key': target.key },
          };
          sentIn.set(request, phase);
          return request;
        },
        onResponse(response: LoadResponse) {
          const counts = byPhase[name][sentIn.get(response.request) ?? phase];
          counts[response.status] = (counts[response.status] ?? 0) + 1;
        },
      });
    const loads = [drive('open', open), drive('closed', closed)];
    await sleep(2_000);
    await redis.stop();
    phase = 'outage';
    await sleep(bounded(3_000, 30_000));
    phase = 'recovering';
    await redis.start();
    // ioredis reconnects with backoff; give it a moment, then count only what is sent after.
    await sleep(3_000);
    phase = 'after';
    await sleep(2_000);
    stop.abort();
    const [openFigures, closedFigures] = await Promise.all(loads);

    // Limiting itself resumes against the restarted Redis: the failed-auth limit (20 a minute per address,
    // in the same store) on a fresh instance, from a forwarded address nothing above has used.
    const tight = await startApi(
      baseEnv({ DATA_DIR: 'memory', REDIS_URL: redis.url, TRUSTED_PROXIES: '127.0.0.1' }),
    );
    cleanup(() => tight.kill());
    const limited: number[] = [];
    for (let i = 0; i < 25; i++) {
      const response = await fetch(`${tight.url}/items`, { headers: { 'x-forwarded-for': '10.200.0.1' } });
      await response.text();
      limited.push(response.status);
    }
    reportFigures('redis-outage', {
      requests: openFigures!.requests + closedFigures!.requests,
      non2xx: openFigures!.non2xx + closedFigures!.non2xx,
      open: `before:${compact(byPhase.open.before)};outage:${compact(byPhase.open.outage)};after:${compact(byPhase.open.after)}`,
      closed: `before:${compact(byPhase.closed.before)};outage:${compact(byPhase.closed.outage)};after:${compact(byPhase.closed.after)}`,
      problems: compact({ ...openFigures!.problems, ...closedFigures!.problems }),
      resets: openFigures!.errors + closedFigures!.errors,
      afterRestartFailedAuth: limited.join(','),
    });
    expect(serverErrors(openFigures!.problems)).toEqual([]);
    expect(
      serverErrors(closedFigures!.problems, [SHED, '503 RAMPART_SECURITY_RATE_LIMIT_UNAVAILABLE']),
    ).toEqual([]);
    expect(openFigures!.errors + closedFigures!.errors).toBe(0);
    // open: served through the outage; closed: refused with 503 through it.
    expect(byPhase.open.outage[200] ?? 0).toBeGreaterThan(0);
    expect(byPhase.closed.outage[503] ?? 0).toBeGreaterThan(0);
    expect(byPhase.closed.outage[200] ?? 0).toBe(0);
    // Both serve again once Redis is back.
    expect(byPhase.open.after[200] ?? 0).toBeGreaterThan(0);
    expect(byPhase.closed.after[200] ?? 0).toBeGreaterThan(0);
    expect(limited.filter((status) => status === 401).length).toBe(20);
    expect(limited.filter((status) => status === 429).length).toBe(5);
  });
});
