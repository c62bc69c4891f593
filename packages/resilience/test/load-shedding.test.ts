import autocannon, { type Result } from 'autocannon';
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import type { LoadSheddingOptions } from '../src/fastify.ts';
import { resiliencePlugin } from '../src/fastify.ts';
import { createHealth } from '../src/index.ts';

// Real sockets under a closed-loop load generator (autocannon, in this process): every connection sends its
// next request as soon as the previous answer arrives, so the server's event loop is never idle.
const apps: Array<{ close(): Promise<unknown> }> = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

async function serve(loadShedding: LoadSheddingOptions, workMs: number) {
  const app = Fastify();
  apps.push(app);
  await app.register(resiliencePlugin, { health: createHealth({ version: '1', commit: 'c' }), loadShedding });
  app.get('/work', async () => {
    // Synchronous work, as a CPU-bound handler does it: nothing else runs on the loop meanwhile.
    const until = performance.now() + workMs;
    while (performance.now() < until) {
      // busy
    }
    return { done: true };
  });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  return `${address}/work`;
}

async function load(url: string, connections: number, duration: number) {
  const before = performance.eventLoopUtilization();
  const result = await new Promise<Result>((resolve, reject) => {
    autocannon({ url, connections, duration }, (error, value) => (error ? reject(error) : resolve(value)));
  });
  return { result, utilization: performance.eventLoopUtilization(before).utilization };
}

const shed = (result: Result) => result.statusCodeStats['503']?.count ?? 0;

describe('load shedding under a closed-loop load', () => {
  // Regression: shedding on event-loop utilisation (0.98 by default) answered thousands of 503s to a server
  // that was merely busy: a closed-loop client keeps any healthy server's loop ~100% utilised.
  // The delay check is turned off (0), so only the utilisation default is under test. Raising its threshold
  // was not enough: under-pressure reads a sample interval in which the delay histogram recorded nothing as
  // an infinite delay, above any threshold, and a loaded CI host still shed requests with it at 60 s (9 on
  // 2026-12-03; 49 once before, at 1 s).
  it('does not shed a saturated but healthy server: utilisation is not a shedding signal by default', async () => {
    const url = await serve({ sampleIntervalMs: 100, maxEventLoopDelayMs: 0 }, 0);
    const { result, utilization } = await load(url, 16, 1);
    // The load did saturate the loop: the old 0.98 utilisation default would have shed here.
    expect(utilization).toBeGreaterThan(0.9);
    expect(result['2xx']).toBeGreaterThan(0);
    expect(shed(result)).toBe(0);
    expect(result.non2xx + result.errors).toBe(0);
  });

  it('still sheds on utilisation when a service opts into it', async () => {
    const url = await serve({ sampleIntervalMs: 100, maxEventLoopUtilization: 0.8 }, 0);
    const { result } = await load(url, 16, 1);
    expect(shed(result)).toBeGreaterThan(0);
  });

  it('sheds an overloaded server, whose requests queue behind each other on the loop', async () => {
    // 8 connections x 40 ms of work: each request waits for the ones ahead of it, about 300 ms, and the
    // event-loop delay shows that queue. The threshold is lowered only to keep the test short.
    const url = await serve({ sampleIntervalMs: 100, maxEventLoopDelayMs: 150 }, 40);
    const { result } = await load(url, 8, 1);
    expect(shed(result)).toBeGreaterThan(0);
    expect(result['2xx']).toBeGreaterThan(0);
  });
});
