import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { ratioChart } from './chart.ts';
import { fixedRateFor, type HttpConfig, type HttpRow, type HttpSeries } from './http-bench.ts';
import { runLoad, runRateLoad } from './load.ts';
import { coreTicks, peakRssBytes, rssBytes, stealSince, stolenShare } from './machine.ts';
import { fixedRateSection, judge, KEEP_MARKER, keptPart, steadiness } from './results.ts';
import { latencyPercentiles, median, medianRatio, percentile } from './stats.ts';

const run = fileURLToPath(new URL('./run.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'rampart-bench-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the bench plumbing', () => {
  // Not a measurement: tiny counts, so only the wiring is checked (every server starts, the load
  // generator runs, CPU and RSS are read, the results file and chart are written).
  it('runs the HTTP section on tiny counts and writes RESULTS.md', { timeout: 180_000 }, async () => {
    const out = join(dir, 'RESULTS.md');
    const env: Record<string, string | undefined> = {
      ...process.env,
      BENCH_ROUNDS: '1',
      BENCH_AMOUNT: '200',
      BENCH_WARMUP: '0',
      BENCH_SERVERS: 'bare,usual-10,rampart-10',
      BENCH_RATE: '200',
      BENCH_RATE_ROUNDS: '1',
      BENCH_RATE_SECONDS: '0.5',
    };
    for (const name of ['TEST_DATABASE_URL', 'TEST_REDIS_URL', 'BENCH_DATABASE_URL', 'BENCH_REDIS_URL'])
      delete env[name];
    const child = spawn(process.execPath, [run, '--only', 'http', '--out', out], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += String(chunk);
    });
    child.stderr.on('data', (chunk) => {
      output += String(chunk);
    });
    const [code] = await once(child, 'exit');
    expect(code, output).toBe(0);
    expect(output).toContain('[6/6]'); // progress, one line per load
    expect(output).toContain('[6/6] fixed rate'); // and per open-loop load
    const markdown = readFileSync(out, 'utf8');
    for (const server of ['bare Fastify', 'usual stack, tracing 10%', 'Rampart, tracing 10%'])
      expect(markdown).toMatch(new RegExp(`\\| ${server.replace(/[%,]/g, '.')} +\\| GET +\\|`));
    expect(markdown).toContain('## Goals');
    expect(markdown).toMatch(/How steady the host was .*bare Fastify GET \d+–\d+ µs \(\d+\.\d\dx\)/);
    // Read from /proc/stat around every load: 0.0% on a machine nobody shares, never missing.
    expect(markdown).toMatch(
      /CPU steal during the measured loads: the servers' core \d+\.\d% of a load's time/,
    );
    expect(markdown).toMatch(/CPU steal in these runs: the servers' core \d+\.\d%/);
    expect(markdown).toContain(KEEP_MARKER);
    expect(existsSync(join(dir, 'ratios.svg'))).toBe(true);
    expect(markdown).toMatch(/\| 0 +\|\n/); // a "failed" column of zeros
    // Latencies to the microsecond, from every response, not autocannon's whole milliseconds.
    const saturation = markdown.slice(0, markdown.indexOf('### Latency at a fixed rate'));
    const rows = saturation.split('\n').filter((line) => /^\| [^|]+\| (GET|POST) +\|/.test(line));
    expect(rows).toHaveLength(6);
    const latencies = rows.flatMap((row) =>
      row
        .split('|')
        .slice(5, 7)
        .map((cell) => cell.trim()),
    );
    for (const value of latencies) expect(value, rows.join('\n')).toMatch(/^\d+\.\d{3}$/);
    expect(
      latencies.some((value) => !value.endsWith('.000')),
      rows.join('\n'),
    ).toBe(true);
    // The open-loop table: each of the three servers at the set rate, on both routes, every request answered.
    const fixed = markdown.slice(markdown.indexOf('### Latency at a fixed rate'));
    const fixedRows = fixed.split('\n').filter((line) => /^\| [^|]+\| (GET|POST) +\| 200 +\|/.test(line));
    expect(fixedRows, fixed).toHaveLength(6);
    for (const row of fixedRows) expect(row.split('|').at(-2)?.trim(), row).toBe('0');
  });
});

describe('the load generator', () => {
  const app = Fastify();
  app.get('/ok', async () => ({ ok: true }));
  afterAll(() => app.close());

  it('keeps the latency of every 2xx response, to the microsecond', { timeout: 30_000 }, async () => {
    const port = Number(new URL(await app.listen({ host: '127.0.0.1', port: 0 })).port);
    const result = await runLoad({ port, path: '/ok', connections: 4, amount: 400, core: undefined });
    expect(result).toMatchObject({ ok: 400, failed: 0, recorded: 400 });
    expect(result.p50).toBeGreaterThan(0);
    expect(result.p99).toBeGreaterThanOrEqual(result.p50);
    // autocannon's own report floors both to whole milliseconds (0 here).
    expect(Number.isInteger(result.p50) && Number.isInteger(result.p99)).toBe(false);

    // Error responses are failures, and their latencies do not count.
    const missing = await runLoad({ port, path: '/missing', connections: 4, amount: 100, core: undefined });
    expect(missing).toMatchObject({ ok: 0, failed: 100, recorded: 0, p50: 0, p99: 0 });
  });
});

describe('the open-loop generator', () => {
  const app = Fastify();
  let requests = 0;
  let stallAt = -1;
  app.get('/ok', async () => {
    requests += 1;
    // Holds the event loop for 150 ms, as a long collection or a blocking call would.
    if (requests === stallAt) {
      const until = performance.now() + 150;
      while (performance.now() < until);
    }
    return { ok: true };
  });
  app.post('/echo', async (request) => request.body);
  app.get('/close', async (_request, reply) => reply.header('connection', 'close').send({ ok: true }));
  afterAll(() => app.close());
  const listening = app
    .listen({ host: '127.0.0.1', port: 0 })
    .then((address) => Number(new URL(address).port));
  const load = async (path: string, extra: { rate?: number; seconds?: number; body?: string } = {}) =>
    runRateLoad({
      port: await listening,
      path,
      rate: extra.rate ?? 1000,
      seconds: extra.seconds ?? 1,
      warmupSeconds: 0.2,
      connections: 8,
      core: undefined,
      ...(extra.body !== undefined ? { method: 'POST' as const, body: extra.body } : {}),
    });

  it('sends at the rate it was given and answers for every request', { timeout: 30_000 }, async () => {
    const result = await load('/ok', { rate: 500 });
    expect(result).toMatchObject({ rate: 500, sent: 500, ok: 500, failed: 0, answered: 600 });
    expect(result.held).toBeGreaterThan(400);
    expect(result.p50).toBeGreaterThan(0);
    expect(result.p50).toBeLessThanOrEqual(result.p90);
    expect(result.p90).toBeLessThanOrEqual(result.p99);
    expect(result.p99).toBeLessThanOrEqual(result.max);
    expect(await load('/echo', { rate: 200, body: '{"a":1}' })).toMatchObject({ sent: 200, ok: 200 });
  });

  it('counts a stall against every request due during it, not only those in flight', {
    timeout: 30_000,
  }, async () => {
    // 1000 requests a second: a 150-ms stall holds up about 150 of the 1000 measured. A closed loop on 8
    // connections would see 8 slow requests (under 1%), and p99 would miss the stall; here p90 cannot.
    requests = 0;
    stallAt = 600;
    const result = await load('/ok');
    stallAt = -1;
    expect(result).toMatchObject({ sent: 1000, ok: 1000, failed: 0 });
    expect(result.maxQueued).toBeGreaterThan(50);
    expect(result.max).toBeGreaterThanOrEqual(140);
    // About 150 of the 1000 wait 0-150 ms, so p90 is near 50 ms; counted from the actual send, a few ms at most.
    expect(result.p90).toBeGreaterThan(30);
  });

  it('reports error statuses and closed connections as failures, with the reason', {
    timeout: 30_000,
  }, async () => {
    expect(await load('/missing', { rate: 200 })).toMatchObject({
      sent: 200,
      ok: 0,
      failed: 200,
      p50: 0,
      error: 'status 404',
    });
    // A server that closes each connection after its response: the generator opens another and goes on,
    // and exits when done (a socket replaced as the run ended once kept it alive, and this load hung).
    for (let run = 0; run < 3; run++)
      expect(await load('/close', { rate: 1000, seconds: 0.3 })).toMatchObject({
        sent: 300,
        ok: 300,
        failed: 0,
      });
  });
});

describe('figures', () => {
  it('reads percentiles by nearest rank', () => {
    const sorted = Float64Array.from({ length: 200 }, (_, i) => (i + 1) / 100);
    expect(percentile(sorted, 0.5)).toBe(1);
    expect(percentile(sorted, 0.99)).toBe(1.98);
    expect(percentile(sorted.subarray(0, 1), 0.99)).toBe(0.01);
    expect(percentile(new Float64Array(0), 0.99)).toBe(0);
    const shuffled = Float64Array.from({ length: 200 }, (_, i) => ((i * 37) % 200) + 1);
    expect(latencyPercentiles(shuffled)).toEqual({ p50: 100, p99: 198 });
  });

  it('says how far CPU per request moved between rounds, for bare Fastify and Rampart at 10%', () => {
    const row = (
      id: string,
      name: string,
      range: [number, number],
      steal: number[] = [],
      loadSteal: number[] = [],
    ) =>
      ({
        id,
        name,
        route: 'GET',
        cpuRange: range,
        steal,
        loadSteal,
      }) as HttpRow;
    expect(
      steadiness([
        row('bare', 'bare Fastify', [12, 18]),
        row('usual-10', 'usual', [80, 90]),
        row('rampart-10', 'Rampart, tracing 10%', [24.4, 25.2]),
      ]),
    ).toBe(
      'How steady the host was — CPU per request, lowest to highest round (highest / lowest): ' +
        'bare Fastify GET 12–18 µs (1.50x), Rampart, tracing 10% GET 24–25 µs (1.03x).',
    );
    // CPU steal over every load of every server, the usual stack's too: median and highest, per core.
    expect(
      steadiness([
        row('bare', 'bare Fastify', [12, 18], [0.01, 0.02], [0.01, 0.01]),
        row('usual-10', 'usual', [80, 90], [0.077, 0.03], [0.04, 0.02]),
        row('rampart-10', 'Rampart, tracing 10%', [24.4, 25.2], [0.005, 0.04], [0, 0.01]),
      ]),
    ).toContain(
      "(1.03x). CPU steal during the measured loads: the servers' core 3.0% of a load's time at the median, 7.7% at most; " +
        "the load generator's 1.0% of a load's time at the median, 4.0% at most (time ready to run",
    );
    // Unpinned, both readings are the machine's: one figure.
    const unpinned = steadiness([row('bare', 'bare Fastify', [12, 18], [0.01, 0.03], [0.01, 0.03])], false);
    expect(unpinned).toContain(
      "CPU steal during the measured loads: the machine 3.0% of a load's time at the median, 3.0% at most (time",
    );
    expect(unpinned).not.toContain('core');
  });

  it('reads how much of a core the hypervisor took, from /proc/stat', () => {
    const whole = coreTicks(undefined);
    const first = coreTicks('0');
    expect(whole?.total).toBeGreaterThan(0);
    expect(first?.total).toBeGreaterThan(0);
    expect(whole?.total).toBeGreaterThanOrEqual(first?.total ?? 0); // the machine is at least its first core
    expect(coreTicks('99999')).toBeUndefined();
    expect(stolenShare({ stolen: 10, total: 1000 }, { stolen: 40, total: 1600 })).toBe(0.05);
    expect(stolenShare(undefined, { stolen: 40, total: 1600 })).toBe(0);
    expect(stolenShare({ stolen: 10, total: 1000 }, { stolen: 10, total: 1000 })).toBe(0);
    const since = stealSince('0', undefined);
    for (let spin = performance.now(); performance.now() - spin < 30; ); // let a few ticks pass
    const { server, load } = since();
    for (const share of [server, load]) expect(share >= 0 && share <= 1, String(share)).toBe(true);
  });

  it('takes medians of rounds and of per-round ratios', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([])).toBe(0);
    expect(medianRatio([10, 30, 20], [10, 10, 10])).toBe(2);
  });

  it('judges the goals on Rampart at 10% against bare and the usual stack', () => {
    const row = (id: string, cpu: number, ratio: number): HttpRow => ({
      id,
      name: id,
      route: 'GET',
      rps: 1,
      rpsRatio: 0.6,
      p50: 1,
      p99: 2,
      p99Ratio: 1.5,
      cpu,
      cpuRatio: ratio,
      cpuRange: [cpu, cpu],
      cpuRounds: [cpu * 1.2, cpu, cpu * 0.9],
      rssMiB: 100,
      rssRatio: 1.2,
      steal: [],
      loadSteal: [],
      failed: 0,
      rounds: 1,
    });
    const goals = judge([row('rampart-10', 40, 1.8), row('usual-10', 200, 9)], undefined);
    expect(goals.every((goal) => goal.holds)).toBe(true);
    expect(goals.find((goal) => goal.goal.includes('usual'))?.figure).toBe('5.00x');
    // Round by round: the usual stack's CPU over ours in the same round, then the median of those.
    const ours = { ...row('rampart-10', 40, 1.8), cpuRounds: [40, 60, 40] };
    const usual = { ...row('usual-10', 200, 9), cpuRounds: [160, 180, 200] };
    expect(judge([ours, usual], undefined).find((goal) => goal.goal.includes('usual'))?.figure).toBe('4.00x');
  });

  it('sets the fixed rate at a share of the slowest chosen server, per route, down to a multiple of 100', () => {
    const series = (id: string, route: 'GET' | 'POST', rps: number[]) =>
      ({ config: { id } as HttpConfig, route, rps }) as HttpSeries;
    const all = [
      series('bare', 'GET', [40_000, 42_000, 41_000]),
      series('usual-10', 'GET', [6_000, 6_790, 9_000]),
      series('usual-100', 'GET', [3_000, 3_000, 3_000]), // not chosen
      series('rampart-10', 'GET', [20_000, 21_000, 22_000]),
      series('usual-10', 'POST', [5_000, 5_000, 5_000]),
    ];
    const settings = {
      servers: ['bare', 'usual-10', 'rampart-10'],
      share: 0.5,
      rounds: 1,
      seconds: 1,
      warmupSeconds: 0,
      connections: 1,
    };
    expect(fixedRateFor(all, 'GET', settings)).toBe(3_300); // half of usual-10's median, 6,790
    expect(fixedRateFor(all, 'POST', settings)).toBe(2_500);
    expect(fixedRateFor(all, 'GET', { ...settings, rate: 200 })).toBe(200);
    expect(fixedRateFor([series('bare', 'GET', [0])], 'GET', settings)).toBe(0);
  });

  it('says what rate the open-loop pass used and how long the load generator stood still', () => {
    const settings = { servers: [], share: 0.5, rounds: 3, seconds: 4, warmupSeconds: 0.5, connections: 32 };
    const fixed = (stalled: number, longestStall: number, steal: number[] = [0.01, 0.03]) =>
      ({
        id: 'bare',
        name: 'bare Fastify',
        route: 'GET',
        fixed: {
          rate: 4100,
          held: 4100,
          p50: 0.1,
          p90: 0.2,
          p99: 1.5,
          p999: 9,
          p50Ratio: 1,
          p90Ratio: 1,
          p99Ratio: 1,
          stalled,
          longestStall,
          cpu: 40,
          cpuRatio: 1,
          steal,
          loadSteal: [0, 0.001],
          failed: 0,
        },
      }) as HttpRow;
    const text = fixedRateSection(settings, [fixed(12, 3.5), fixed(40, 7.25, [0.06, 0.02])]).join('\n');
    expect(text).toContain("half the slowest one's req/s");
    expect(text).toMatch(
      /\| bare Fastify \| GET +\| 4100 +\| 4100 +\| 0\.100 +\| 0\.200 +\| 1\.500 +\| 9\.000 +\|/,
    );
    expect(text).toContain('for up to 40 ms in a 4-s run');
    expect(text).toContain('1.0% of the time), the longest stall 7.3 ms');
    expect(text).toContain(
      "CPU steal in these runs: the servers' core 3.0% of a load's time at the median, 6.0% at most; " +
        "the load generator's 0.1% of a load's time at the median, 0.1% at most",
    );
    expect(fixedRateSection({ ...settings, rate: 200 }, [fixed(0, 0)]).join('\n')).toContain(
      'a rate set for the run (200 req/s)',
    );
  });

  it("reads a process's peak RSS, which stays up after the memory is given back", {
    timeout: 30_000,
  }, async () => {
    // A child touches 192 MiB, frees it, and waits: its RSS falls back, its high-water mark does not.
    const child = spawn(
      process.execPath,
      [
        '--expose-gc',
        '-e',
        "let b = Buffer.alloc(192 * 1048576, 1); b = null; globalThis.gc(); console.log('freed'); setTimeout(() => {}, 20000);",
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await once(child.stdout, 'data');
      const rss = rssBytes(child.pid as number);
      const peak = peakRssBytes(child.pid as number);
      expect(rss).toBeGreaterThan(0);
      expect(peak - rss).toBeGreaterThan(128 * 1048576);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('keeps the hand-written part of RESULTS.md', () => {
    expect(keptPart(`generated\n${KEEP_MARKER}\n\nnotes\n`)).toBe('\n\nnotes\n');
    expect(keptPart('no marker')).toBe('');
  });

  it('draws one bar per series with its value', () => {
    const svg = ratioChart('t', 's', [
      {
        title: 'p',
        bars: [{ label: 'a <b>', value: 0.5, group: 'rampart' }],
        goal: { value: 2, caption: 'g' },
      },
    ]);
    expect(svg).toContain('0.50x');
    expect(svg).toContain('a &lt;b&gt;');
  });
});
