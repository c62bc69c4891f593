import { describe, expect, it } from 'vitest';
import { baseEnv, quantile, reportFigures, runLoad, startApi } from '../src/index.ts';
import { bounded, cleanup, compact, serverErrors } from './support.ts';

/** 10.x.y.z for i: distinct addresses a client could claim in X-Forwarded-For. */
const address = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

async function statuses(url: string, path: string, count: number, forwardedFor: (i: number) => string) {
  const counts: Record<number, number> = {};
  for (let i = 0; i < count; i++) {
    const response = await fetch(`${url}${path}`, { headers: { 'x-forwarded-for': forwardedFor(i) } });
    await response.text();
    counts[response.status] = (counts[response.status] ?? 0) + 1;
  }
  return counts;
}

// apps/api has no public route but its probes (never limited), so what a client address buys is the
// failed-auth limit: 20 unauthenticated requests a minute per address, in the rate-limit store. Requests
// with a key are limited by key id, which X-Forwarded-For cannot change.
describe('X-Forwarded-For rotation against the limiter', () => {
  it('opens no new bucket unless the proxy is trusted, and never limits the probes', async () => {
    const untrusted = await startApi(baseEnv({ DATA_DIR: 'memory', RATE_LIMIT_MAX: '20' }));
    cleanup(() => untrusted.kill());
    const trusted = await startApi(
      baseEnv({ DATA_DIR: 'memory', RATE_LIMIT_MAX: '20', TRUSTED_PROXIES: '127.0.0.1' }),
    );
    cleanup(() => trusted.kill());

    const rotatedUntrusted = await statuses(untrusted.url, '/items', 60, address);
    const rotatedTrusted = await statuses(trusted.url, '/items', 60, address);
    const sameTrusted = await statuses(trusted.url, '/items', 60, () => '10.9.9.9');
    const probes = await statuses(untrusted.url, '/health/live', 60, address);
    reportFigures('xff-rotation', {
      untrustedRotated: compact(rotatedUntrusted),
      trustedRotated: compact(rotatedTrusted),
      trustedSameAddress: compact(sameTrusted),
      probesAfterLimit: compact(probes),
    });
    // Untrusted: X-Forwarded-For is ignored, so 60 "different" clients are one socket address: 20 get their
    // 401, the rest 429.
    expect(rotatedUntrusted).toEqual({ 401: 20, 429: 40 });
    // Trusted: each forwarded address is its own client, and one address is still held to its limit.
    expect(rotatedTrusted).toEqual({ 401: 60 });
    expect(sameTrusted).toEqual({ 401: 20, 429: 40 });
    // That address has spent its limit, and /health/live still answers (a kubelet probes from one address).
    expect(probes).toEqual({ 200: 60 });
  });
});

describe('distinct keys against the in-memory limiter', () => {
  it('keeps memory bounded: the bucket store is an LRU', async () => {
    const keys = bounded(100_000, 200_000);
    const api = await startApi(
      baseEnv({ DATA_DIR: 'memory', RATE_LIMIT_MAX: '1000', TRUSTED_PROXIES: '127.0.0.1' }),
      { probe: true },
    );
    cleanup(() => api.kill());
    const send = (from: number, count: number) =>
      runLoad({
        url: api.url,
        connections: 16,
        durationMs: 170_000,
        maxRequests: count,
        next: (index) => ({
          method: 'GET',
          path: '/items',
          headers: { 'x-forwarded-for': address(from + index) },
        }),
      });
    // The store's default bound is 10,000 clients: past 20,000 it is full, so the heap should stop growing.
    const warm = await send(0, 20_000);
    const heapWarm = (await api.probe()).heapUsed;
    const rest = await send(20_000, keys - 20_000);
    const heapEnd = (await api.probe()).heapUsed;
    const requests = warm.requests + rest.requests;
    const problems = { ...warm.problems };
    for (const [label, count] of Object.entries(rest.problems))
      problems[label] = (problems[label] ?? 0) + count;
    const growth = (heapEnd - heapWarm) / heapWarm;
    reportFigures('limiter-distinct-keys', {
      keys,
      requests,
      non2xx: warm.non2xx + rest.non2xx,
      problems: compact(problems),
      errors: warm.errors + rest.errors,
      heapAt20kMiB: (heapWarm / 2 ** 20).toFixed(1),
      heapEndMiB: (heapEnd / 2 ** 20).toFixed(1),
      heapGrowthPct: (growth * 100).toFixed(1),
      p99Ms: quantile(rest.latenciesMs, 0.99).toFixed(1),
    });
    expect(requests).toBe(keys);
    expect(warm.errors + rest.errors).toBe(0);
    expect(warm.non2xx + rest.non2xx).toBe(keys);
    expect(serverErrors(problems)).toEqual([]);
    // Every address is new: each gets its 401 and a bucket of its own, and none reaches its limit.
    expect(Object.keys(problems)).toEqual(['401 RAMPART_SECURITY_AUTH_REQUIRED']);
    // 40,000+ more clients than the store holds add under 10 % heap after a GC (an unbounded map would
    // keep every one of them).
    expect(growth).toBeLessThan(0.1);
  });
});
