import { type LoadResult, runLoad, runRateLoad } from './load.ts';
import { clockTicks, cpuMicros, rssBytes, stealSince } from './machine.ts';
import { GET_URL, POST_BODY } from './routes.ts';
import { type RunningServer, type ServerSpec, startServer } from './server-process.ts';
import { median, medianRatio, percent } from './stats.ts';

export type Route = 'GET' | 'POST';

export interface HttpConfig {
  id: string;
  name: string;
  spec: Omit<ServerSpec, 'core'>;
  routes: readonly Route[];
}

/**
 * The open-loop pass after the saturation rounds: the same fixed rate for every server named, so latency
 * is compared at equal traffic below every server's capacity rather than at each one's own saturation.
 */
export interface FixedRateSettings {
  /** Ids of the servers measured; the rate is `share` of the slowest one's median req/s on the route. */
  servers: readonly string[];
  share: number;
  /** A rate (req/s) to use instead of the share: the plumbing test's. */
  rate?: number;
  rounds: number;
  seconds: number;
  warmupSeconds: number;
  connections: number;
}

export interface HttpSettings {
  rounds: number;
  /** Measured seconds per load, or a request count per load (`amount`, for plumbing tests). */
  seconds: number;
  amount?: number;
  warmupRequests: number;
  connections: number;
  serverCore: string | undefined;
  loadCore: string | undefined;
  fixedRate?: FixedRateSettings;
  progress: (line: string) => void;
}

/** Per-round samples of one (server, route) pair at the fixed rate. */
export interface FixedSeries {
  rate: number;
  held: number[];
  p50: number[];
  p90: number[];
  p99: number[];
  p999: number[];
  cpu: number[];
  /** The load generator's own stalls per round: ms in all, and the longest. */
  stalled: number[];
  longestStall: number[];
  /** Per round, the share of the server's and the load generator's core stolen by the hypervisor. */
  steal: number[];
  loadSteal: number[];
  failed: number;
  error?: string;
}

/** Per-round samples of one (server, route) pair. */
export interface HttpSeries {
  config: HttpConfig;
  route: Route;
  rps: number[];
  /** Server CPU (user + system) per response, µs. */
  cpu: number[];
  p50: number[];
  p99: number[];
  rss: number[];
  /** Per round, the share of the server's and the load generator's core stolen by the hypervisor (0–1). */
  steal: number[];
  loadSteal: number[];
  failed: number;
  fixed?: FixedSeries;
}

export interface FixedRow {
  rate: number;
  held: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  p50Ratio: number;
  p90Ratio: number;
  p99Ratio: number;
  /** Median ms per round the load generator stood still, and the longest stall of any round. */
  stalled: number;
  longestStall: number;
  cpu: number;
  cpuRatio: number;
  /** Per round, the share of the server's and the load generator's core stolen by the hypervisor. */
  steal: number[];
  loadSteal: number[];
  failed: number;
  error?: string;
}

export interface HttpRow {
  id: string;
  name: string;
  route: Route;
  rps: number;
  rpsRatio: number;
  p50: number;
  p99: number;
  p99Ratio: number;
  cpu: number;
  cpuRatio: number;
  /** The lowest and highest CPU per response over the rounds: how steady the host was. */
  cpuRange: [number, number];
  /** CPU per response in each round, in round order (to pair with another server's rounds). */
  cpuRounds: number[];
  rssMiB: number;
  rssRatio: number;
  /** Per round, the share of the server's and the load generator's core stolen by the hypervisor (0–1). */
  steal: number[];
  loadSteal: number[];
  failed: number;
  rounds: number;
  fixed?: FixedRow;
}

const seconds = (ms: number) => `${Math.round(ms / 1000)}s`;

/**
 * Starts every server at once (each pinned to the server core), then loads them one at a time from the
 * load core, round after round, rotating the order each round, so drift on a shared machine hits every
 * server alike. Each ratio is the median of per-round ratios against the bare server on the same route.
 */
export async function runHttpBench(
  configs: readonly HttpConfig[],
  settings: HttpSettings,
): Promise<HttpSeries[]> {
  const ticks = clockTicks();
  const servers: Array<{ config: HttpConfig; server: RunningServer }> = [];
  try {
    // Side by side, except that the first Rampart server starts alone: it migrates the database the others share.
    const start = (config: HttpConfig) =>
      startServer({ ...config.spec, core: settings.serverCore }).then((server) => ({ config, server }));
    const first = configs.find((config) => config.id.startsWith('rampart'));
    settings.progress(`  starting ${configs.length} servers`);
    const launched: Array<Promise<{ config: HttpConfig; server: RunningServer }>> = [];
    const track = (pending: Promise<{ config: HttpConfig; server: RunningServer }>) => {
      launched.push(pending);
      return pending;
    };
    await Promise.allSettled([
      ...configs.filter((config) => !config.id.startsWith('rampart')).map((config) => track(start(config))),
      first ? track(start(first)) : undefined,
    ]);
    await Promise.allSettled(
      configs
        .filter((config) => config.id.startsWith('rampart') && config !== first)
        .map((config) => track(start(config))),
    );
    // Keep configuration order; stop whatever did start if any failed (the finally below), then throw.
    const outcomes = await Promise.allSettled(launched);
    for (const outcome of outcomes) if (outcome.status === 'fulfilled') servers.push(outcome.value);
    const failure = outcomes.find((outcome) => outcome.status === 'rejected');
    if (failure) throw (failure as PromiseRejectedResult).reason;
    servers.sort((a, b) => configs.indexOf(a.config) - configs.indexOf(b.config));
    const series: HttpSeries[] = [];
    const jobs: Array<{ server: RunningServer; series: HttpSeries }> = [];
    for (const { config, server } of servers) {
      for (const route of config.routes) {
        const entry: HttpSeries = {
          config,
          route,
          rps: [],
          cpu: [],
          p50: [],
          p99: [],
          rss: [],
          steal: [],
          loadSteal: [],
          failed: 0,
        };
        series.push(entry);
        jobs.push({ server, series: entry });
      }
    }
    const total = settings.rounds * jobs.length;
    const started = performance.now();
    let done = 0;
    for (let round = 0; round < settings.rounds; round++) {
      for (let n = 0; n < jobs.length; n++) {
        const { server, series: entry } = jobs[(n + round) % jobs.length] as (typeof jobs)[number];
        const load = (limit: { seconds?: number; amount?: number }) =>
          runLoad({
            ...target(server, entry.route),
            connections: settings.connections,
            core: settings.loadCore,
            ...limit,
          });
        if (settings.warmupRequests > 0) await load({ amount: settings.warmupRequests }); // JIT, caches, sockets
        const stolen = stealSince(settings.serverCore, settings.loadCore);
        const before = cpuMicros(server.pid, ticks);
        const result: LoadResult = await load(
          settings.amount ? { amount: settings.amount } : { seconds: settings.seconds },
        );
        const after = cpuMicros(server.pid, ticks);
        const { server: steal, load: loadSteal } = stolen();
        const answered = Math.max(1, result.ok + result.failed);
        entry.rps.push(result.rps);
        entry.cpu.push((after - before) / answered);
        entry.p50.push(result.p50);
        entry.p99.push(result.p99);
        entry.rss.push(rssBytes(server.pid));
        entry.steal.push(steal);
        entry.loadSteal.push(loadSteal);
        entry.failed += result.failed;
        done += 1;
        const elapsed = performance.now() - started;
        settings.progress(
          `  [${done}/${total}] round ${round + 1}/${settings.rounds} ${entry.config.name} ${entry.route}: ` +
            `${result.rps.toFixed(0)} req/s, ${((after - before) / answered).toFixed(0)} µs CPU/req, ` +
            `p99 ${result.p99.toFixed(2)} ms, steal ${percent(steal)} / ${percent(loadSteal)}` +
            `${result.failed ? `, ${result.failed} FAILED` : ''}  ` +
            `(${seconds(elapsed)} elapsed, ~${seconds((elapsed / done) * (total - done))} left)`,
        );
      }
    }
    if (settings.fixedRate) {
      try {
        await runFixedRate(jobs, settings, settings.fixedRate, ticks);
      } catch (error) {
        // The saturation figures stand on their own: report them without the fixed-rate table.
        for (const entry of series) delete entry.fixed;
        settings.progress(`  the fixed-rate pass failed, left out: ${(error as Error).message}`);
      }
    }
    return series;
  } finally {
    for (const { server } of servers) await server.stop();
  }
}

/** The fixed rate for a route: `share` of the slowest named server's median req/s, down to a multiple of 100. */
export function fixedRateFor(series: readonly HttpSeries[], route: Route, fixed: FixedRateSettings): number {
  if (fixed.rate !== undefined) return fixed.rate;
  const rates = series
    .filter((entry) => entry.route === route && fixed.servers.includes(entry.config.id))
    .map((entry) => median(entry.rps))
    .filter((rps) => rps > 0);
  if (rates.length === 0) return 0;
  return Math.max(100, Math.floor((fixed.share * Math.min(...rates)) / 100) * 100);
}

/** What one load sends to a server on a route (the API key, when the server made one). */
function target(server: RunningServer, route: Route) {
  return {
    port: server.port,
    path: route === 'GET' ? GET_URL : '/bench/items',
    method: route,
    ...(route === 'POST' ? { body: POST_BODY } : {}),
    ...(server.key ? { headers: { 'x-api-key': server.key } } : {}),
  };
}

/** The open-loop rounds, interleaved and rotated like the saturation ones, on the servers still running. */
async function runFixedRate(
  jobs: ReadonlyArray<{ server: RunningServer; series: HttpSeries }>,
  settings: HttpSettings,
  fixed: FixedRateSettings,
  ticks: number,
): Promise<void> {
  const chosen = jobs.filter((job) => fixed.servers.includes(job.series.config.id));
  const all = jobs.map((job) => job.series);
  for (const { series: entry } of chosen) {
    const rate = fixedRateFor(all, entry.route, fixed);
    if (rate <= 0) continue;
    entry.fixed = {
      rate,
      held: [],
      p50: [],
      p90: [],
      p99: [],
      p999: [],
      cpu: [],
      stalled: [],
      longestStall: [],
      steal: [],
      loadSteal: [],
      failed: 0,
    };
  }
  const runnable = chosen.filter((job) => job.series.fixed !== undefined);
  const total = fixed.rounds * runnable.length;
  settings.progress(
    `  at a fixed rate, open loop: ${['GET', 'POST']
      .map((route) => {
        const entry = runnable.find((job) => job.series.route === route)?.series.fixed;
        return entry ? `${route} ${entry.rate} req/s` : undefined;
      })
      .filter(Boolean)
      .join(', ')}`,
  );
  let done = 0;
  for (let round = 0; round < fixed.rounds; round++) {
    for (let n = 0; n < runnable.length; n++) {
      const { server, series: entry } = runnable[(n + round) % runnable.length] as (typeof runnable)[number];
      const samples = entry.fixed as FixedSeries;
      const stolen = stealSince(settings.serverCore, settings.loadCore);
      const before = cpuMicros(server.pid, ticks);
      const result = await runRateLoad({
        ...target(server, entry.route),
        rate: samples.rate,
        seconds: fixed.seconds,
        warmupSeconds: fixed.warmupSeconds,
        connections: fixed.connections,
        core: settings.loadCore,
      });
      const after = cpuMicros(server.pid, ticks);
      const { server: steal, load: loadSteal } = stolen();
      // The server's CPU over the warm-up and the measured part alike, per response in both.
      const answered = Math.max(1, result.answered);
      samples.held.push(result.held);
      samples.p50.push(result.p50);
      samples.p90.push(result.p90);
      samples.p99.push(result.p99);
      samples.stalled.push(result.stalledMs);
      samples.longestStall.push(result.longestStallMs);
      samples.p999.push(result.p999);
      samples.cpu.push((after - before) / answered);
      samples.steal.push(steal);
      samples.loadSteal.push(loadSteal);
      samples.failed += result.failed;
      if (result.error !== undefined) samples.error ??= result.error;
      done += 1;
      settings.progress(
        `  [${done}/${total}] fixed rate, round ${round + 1}/${fixed.rounds} ${entry.config.name} ${entry.route}: ` +
          `${samples.rate} req/s, held ${result.held.toFixed(0)}, p50 ${result.p50.toFixed(3)} ms, ` +
          `p99 ${result.p99.toFixed(3)} ms, ${((after - before) / answered).toFixed(0)} µs CPU/req, ` +
          `generator stalled ${result.stalledMs.toFixed(0)} ms (longest ${result.longestStallMs.toFixed(1)}), ` +
          `steal ${percent(steal)} / ${percent(loadSteal)}` +
          `${result.failed ? `, ${result.failed} FAILED (${result.error})` : ''}`,
      );
    }
  }
}

/** Medians and ratios against `baseId`'s series on the same route (or `baseOf` to pick another base). */
export function summarize(
  series: readonly HttpSeries[],
  baseId: string,
  baseOf: (entry: HttpSeries) => string = () => baseId,
): HttpRow[] {
  const find = (id: string, route: Route) =>
    series.find((entry) => entry.config.id === id && entry.route === route);
  return series.map((entry) => {
    const base = find(baseOf(entry), entry.route) ?? find(baseId, entry.route) ?? entry;
    return {
      id: entry.config.id,
      name: entry.config.name,
      route: entry.route,
      rps: median(entry.rps),
      rpsRatio: medianRatio(entry.rps, base.rps),
      p50: median(entry.p50),
      p99: median(entry.p99),
      p99Ratio: medianRatio(entry.p99, base.p99),
      cpu: median(entry.cpu),
      cpuRatio: medianRatio(entry.cpu, base.cpu),
      cpuRange: entry.cpu.length ? [Math.min(...entry.cpu), Math.max(...entry.cpu)] : [0, 0],
      cpuRounds: [...entry.cpu],
      rssMiB: median(entry.rss) / 2 ** 20,
      rssRatio: medianRatio(entry.rss, base.rss),
      steal: [...entry.steal],
      loadSteal: [...entry.loadSteal],
      failed: entry.failed,
      rounds: entry.rps.length,
      ...(entry.fixed ? { fixed: fixedRow(entry.fixed, base.fixed) } : {}),
    };
  });
}

function fixedRow(fixed: FixedSeries, base: FixedSeries | undefined): FixedRow {
  const against = base ?? fixed;
  return {
    rate: fixed.rate,
    held: median(fixed.held),
    p50: median(fixed.p50),
    p90: median(fixed.p90),
    p99: median(fixed.p99),
    p999: median(fixed.p999),
    p50Ratio: medianRatio(fixed.p50, against.p50),
    p90Ratio: medianRatio(fixed.p90, against.p90),
    p99Ratio: medianRatio(fixed.p99, against.p99),
    stalled: median(fixed.stalled),
    longestStall: Math.max(0, ...fixed.longestStall),
    cpu: median(fixed.cpu),
    cpuRatio: medianRatio(fixed.cpu, against.cpu),
    steal: [...fixed.steal],
    loadSteal: [...fixed.loadSteal],
    failed: fixed.failed,
    ...(fixed.error !== undefined ? { error: fixed.error } : {}),
  };
}
