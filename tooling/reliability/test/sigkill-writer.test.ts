import { describe, expect, it } from 'vitest';
import {
  baseEnv,
  checkPostgresBinaries,
  createApiKey,
  createWriteLedger,
  reportFigures,
  runLoad,
  startApi,
  startPostgresCluster,
} from '../src/index.ts';
import { available, bounded, cleanup, compact, serverErrors, sleep, tempDir } from './support.ts';

/**
 * Rounds of: write under load, SIGKILL the writer mid-stream, start it again on the same data, read back
 * every write it acknowledged. PGlite must also recover its data directory and its lock.
 */
async function killRounds(name: string, env: Record<string, string>, rounds: number) {
  const key = await createApiKey(env, ['items:read', 'items:write']);
  const ledger = createWriteLedger(key, 1);
  let requests = 0;
  let errors = 0;
  let non2xx = 0;
  const problems: Record<string, number> = {};
  for (let round = 0; round < rounds; round++) {
    const api = await startApi(env);
    cleanup(() => api.kill());
    const stop = new AbortController();
    const load = runLoad({
      url: api.url,
      connections: 8,
      ratePerSecond: 300,
      durationMs: 30_000,
      maxRequests: 100_000,
      signal: stop.signal,
      next: ledger.next,
      onResponse: ledger.onResponse,
    });
    await sleep(1_000 + Math.round(Math.random() * 1_000));
    await api.signal('SIGKILL');
    stop.abort();
    const figures = await load;
    requests += figures.requests;
    errors += figures.errors;
    non2xx += figures.non2xx;
    for (const [label, count] of Object.entries(figures.problems))
      problems[label] = (problems[label] ?? 0) + count;
  }
  const reader = await startApi(env);
  cleanup(() => reader.kill());
  const { found, missing } = await ledger.verify(reader.url);
  await reader.signal('SIGTERM');
  const acknowledged = ledger.acknowledged().length;
  reportFigures(name, {
    rounds,
    requests,
    non2xx,
    problems: compact(problems),
    resets: errors,
    acknowledged,
    found,
    lost: missing.length,
  });
  expect(serverErrors(problems)).toEqual([]);
  expect(acknowledged).toBeGreaterThan(rounds);
  expect(missing).toEqual([]);
  expect(found).toBe(acknowledged);
}

describe('SIGKILL of a writer', () => {
  it('on PGlite: every acknowledged write is there after a restart', { timeout: 600_000 }, async () => {
    await killRounds(
      'sigkill-pglite',
      baseEnv({ DATA_DIR: tempDir('sigkill'), RATE_LIMIT_MAX: '10000000' }),
      bounded(2, 20),
    );
  });

  it.runIf(available(checkPostgresBinaries(), 'SIGKILL on PostgreSQL'))(
    'on PostgreSQL: every acknowledged write is there after a restart',
    { timeout: 600_000 },
    async () => {
      const pg = await startPostgresCluster();
      cleanup(() => pg.destroy());
      await killRounds(
        'sigkill-postgres',
        baseEnv({ DATABASE_URL: pg.url, RATE_LIMIT_MAX: '10000000' }),
        bounded(2, 20),
      );
    },
  );
});
