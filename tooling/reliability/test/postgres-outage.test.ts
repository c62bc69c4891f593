import { Client } from 'undici';
import { describe, expect, it } from 'vitest';
import {
  baseEnv,
  checkPostgresBinaries,
  createApiKey,
  createWriteLedger,
  type LoadResponse,
  quantile,
  reportFigures,
  runLoad,
  startApi,
  startPostgresCluster,
} from '../src/index.ts';
import {
  available,
  bounded,
  cleanup,
  compact,
  failedRequestLines,
  SHED,
  serverErrors,
  sleep,
} from './support.ts';

async function readiness(url: string): Promise<number> {
  const client = new Client(url);
  try {
    const response = await client.request({ method: 'GET', path: '/health/ready', headersTimeout: 5_000 });
    await response.body.text();
    return response.statusCode;
  } catch {
    return 0;
  } finally {
    await client.close();
  }
}

describe.runIf(available(checkPostgresBinaries(), 'PostgreSQL outage'))(
  'PostgreSQL stopped and restarted under load',
  () => {
    it('turns readiness 503, fails writes fast as problem+json, recovers without a restart, loses no acknowledged write', async () => {
      const pg = await startPostgresCluster();
      cleanup(() => pg.destroy());
      const env = baseEnv({ DATABASE_URL: pg.url, RATE_LIMIT_MAX: '1000000' });
      const key = await createApiKey(env, ['items:read', 'items:write']);
      const api = await startApi(env);
      cleanup(() => api.kill());
      const ledger = createWriteLedger(key);
      let phase: 'before' | 'outage' | 'after' = 'before';
      const during: LoadResponse[] = [];
      const stop = new AbortController();
      const load = runLoad({
        url: api.url,
        connections: 8,
        ratePerSecond: 200,
        durationMs: 90_000,
        maxRequests: 100_000,
        signal: stop.signal,
        next: ledger.next,
        onResponse(response) {
          ledger.onResponse(response);
          if (phase === 'outage' && response.request.method === 'POST') during.push(response);
        },
      });
      await sleep(2_000);
      const readyBefore = await readiness(api.url);
      await pg.stop();
      phase = 'outage';
      await sleep(1_500);
      const readyDuring = await readiness(api.url);
      await sleep(bounded(2_000, 30_000));
      await pg.start();
      const restarted = performance.now();
      let readyAfter = 0;
      while (performance.now() - restarted < 30_000) {
        readyAfter = await readiness(api.url);
        if (readyAfter === 200) break;
        await sleep(200);
      }
      const recoveryMs = Math.round(performance.now() - restarted);
      phase = 'after';
      const ackedBeforeRecovery = ledger.acknowledged().length;
      await sleep(2_000);
      stop.abort();
      const figures = await load;
      const ackedAfterRecovery = ledger.acknowledged().length - ackedBeforeRecovery;
      const { found, missing } = await ledger.verify(api.url);

      const failedWrites = during.filter((response) => response.status !== 201);
      const notProblem = failedWrites.filter(
        (response) => !String(response.headers['content-type']).startsWith('application/problem+json'),
      );
      const acknowledged = ledger.acknowledged().length;
      reportFigures('postgres-outage', {
        requests: figures.requests,
        non2xx: figures.non2xx,
        problems: compact(figures.problems),
        resets: figures.errors,
        exitCode: String(api.child.exitCode),
        writesDuringOutage: during.length,
        failedWriteP99Ms: Math.round(
          quantile(
            failedWrites.map((response) => response.latencyMs),
            0.99,
          ),
        ),
        readyBefore,
        readyDuring,
        readyAfter,
        recoveryMs,
        ackedAfterRecovery,
        acknowledged,
        found,
      });
      expect(api.child.exitCode, api.output()).toBe(null);
      expect(readyBefore).toBe(200);
      expect(readyDuring).toBe(503);
      expect(readyAfter).toBe(200);
      expect(failedWrites.length).toBeGreaterThan(0);
      expect(notProblem.map((response) => response.status)).toEqual([]);
      expect(
        quantile(
          failedWrites.map((response) => response.latencyMs),
          0.99,
        ),
      ).toBeLessThan(5_000);
      expect(ackedAfterRecovery).toBeGreaterThan(0);
      expect(missing).toEqual([]);
      expect(found).toBe(acknowledged);
      // What a request meets while the database is down: 503 RAMPART_DB_UNREACHABLE ("retry later"), never 500.
      const allowed = [SHED, '503 RAMPART_DB_UNREACHABLE', '503 RAMPART_DB_CONNECT_TIMEOUT'];
      expect(
        serverErrors(figures.problems, allowed),
        failedRequestLines(api.failedRequests(), allowed),
      ).toEqual([]);
    });
  },
);
