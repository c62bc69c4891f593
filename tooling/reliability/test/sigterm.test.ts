import { describe, expect, it } from 'vitest';
import { baseEnv, createApiKey, createWriteLedger, reportFigures, runLoad, startApi } from '../src/index.ts';
import { bounded, cleanup, compact, serverErrors, sleep, tempDir } from './support.ts';

describe('SIGTERM during load (PGlite)', () => {
  it('exits 0 within the grace period, answers no 5xx, and every acknowledged write survives', async () => {
    const env = baseEnv({ DATA_DIR: tempDir('sigterm'), RATE_LIMIT_MAX: '1000000' });
    const key = await createApiKey(env, ['items:read', 'items:write']);
    const api = await startApi(env);
    cleanup(() => api.kill());
    const ledger = createWriteLedger(key);
    const stop = new AbortController();
    const load = runLoad({
      url: api.url,
      connections: 16,
      ratePerSecond: 400,
      durationMs: 30_000,
      maxRequests: 200_000,
      signal: stop.signal,
      next: ledger.next,
      onResponse: ledger.onResponse,
    });
    await sleep(bounded(2_000, 10_000));
    const exit = await api.signal('SIGTERM');
    await sleep(300);
    stop.abort();
    const figures = await load;

    const again = await startApi(env);
    cleanup(() => again.kill());
    const { found, missing } = await ledger.verify(again.url);
    const acknowledged = ledger.acknowledged().length;
    const server5xx = serverErrors(figures.problems);
    reportFigures('sigterm-under-load', {
      requests: figures.requests,
      non2xx: figures.non2xx,
      problems: compact(figures.problems),
      resets: figures.errorKinds.ECONNRESET ?? 0,
      refused: figures.errorKinds.ECONNREFUSED ?? 0,
      otherErrors:
        figures.errors - (figures.errorKinds.ECONNRESET ?? 0) - (figures.errorKinds.ECONNREFUSED ?? 0),
      acknowledged,
      found,
      exitCode: String(exit.code),
      exitMs: exit.ms,
    });
    expect(exit.code, api.output()).toBe(0);
    expect(exit.ms).toBeLessThan(10_000);
    expect(server5xx).toEqual([]);
    expect(acknowledged).toBeGreaterThan(0);
    expect(missing).toEqual([]);
    expect(found).toBe(acknowledged);
    await again.signal('SIGTERM');
  });
});
