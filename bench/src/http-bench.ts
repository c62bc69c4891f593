import { type LoadResult, runLoad } from './load.ts';
import { clockTicks, cpuMicros, rssBytes } from './machine.ts';
import { GET_URL, POST_BODY } from './routes.ts';
import { type RunningServer, type ServerSpec, startServer } from './server-process.ts';
import { median, medianRatio } from './stats.ts';

export type Route = 'GET' | 'POST';

export interface HttpConfig {
  id: string;
  name: string;
  spec: Omit<ServerSpec, 'core'>;
  routes: readonly Route[];
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
  progress: (line: string) => void;
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
  failed: number;
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
  rssMiB: number;
  rssRatio: number;
  failed: number;
  rounds: number;
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
        const entry: HttpSeries = { config, route, rps: [], cpu: [], p50: [], p99: [], rss: [], failed: 0 };
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
            port: server.port,
            path: entry.route === 'GET' ? GET_URL : '/bench/items',
            method: entry.route,
            ...(entry.route === 'POST' ? { body: POST_BODY } : {}),
            ...(server.key ? { headers: { 'x-api-key': server.key } } : {}),
            connections: settings.connections,
            core: settings.loadCore,
            ...limit,
          });
        if (settings.warmupRequests > 0) await load({ amount: settings.warmupRequests }); // JIT, caches, sockets
        const before = cpuMicros(server.pid, ticks);
        const result: LoadResult = await load(
          settings.amount ? { amount: settings.amount } : { seconds: settings.seconds },
        );
        const after = cpuMicros(server.pid, ticks);
        const answered = Math.max(1, result.ok + result.failed);
        entry.rps.push(result.rps);
        entry.cpu.push((after - before) / answered);
        entry.p50.push(result.p50);
        entry.p99.push(result.p99);
        entry.rss.push(rssBytes(server.pid));
        entry.failed += result.failed;
        done += 1;
        const elapsed = performance.now() - started;
        settings.progress(
          `  [${done}/${total}] round ${round + 1}/${settings.rounds} ${entry.config.name} ${entry.route}: ` +
            `${result.rps.toFixed(0)} req/s, ${((after - before) / answered).toFixed(0)} µs CPU/req, ` +
            `p99 ${result.p99.toFixed(2)} ms${result.failed ? `, ${result.failed} FAILED` : ''}  ` +
            `(${seconds(elapsed)} elapsed, ~${seconds((elapsed / done) * (total - done))} left)`,
        );
      }
    }
    return series;
  } finally {
    for (const { server } of servers) await server.stop();
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
      rssMiB: median(entry.rss) / 2 ** 20,
      rssRatio: medianRatio(entry.rss, base.rss),
      failed: entry.failed,
      rounds: entry.rps.length,
    };
  });
}
