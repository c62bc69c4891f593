#!/usr/bin/env node
// `pnpm bench` (or ./rampart bench) from the repository root: the whole-stack benchmark of issue #11.
//   --quick (or BENCH_QUICK=1)   2 short rounds, 1 cold start, the tasks bench on small counts, no db bench:
//                                under 2 minutes, written to a temp folder unless --out says otherwise
//   --out <file>                 where RESULTS.md goes (the chart lands beside it); default bench/RESULTS.md
//   --only http,cold,db,tasks    run some sections only
// PostgreSQL and Redis come from BENCH_DATABASE_URL / TEST_DATABASE_URL and BENCH_REDIS_URL / TEST_REDIS_URL;
// without them the db and tasks benches run on PGlite only and the Redis rate-limit row is left out.
// BENCH_ROUNDS, BENCH_SECONDS, BENCH_AMOUNT (requests per load instead of seconds), BENCH_WARMUP and
// BENCH_COLD_RUNS override the counts, and BENCH_SERVERS (ids: bare,usual-10,usual-100,rampart-10,
// rampart-100,rampart-10-redis) picks HTTP servers; the plumbing test uses tiny counts and two servers.
// The fixed-rate pass: BENCH_RATE_ROUNDS (0: none), BENCH_RATE_SECONDS, BENCH_RATE_SHARE (of the slowest
// server's req/s, default 0.5) or BENCH_RATE (req/s).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type ChartBar, ratioChart, writeChart } from './chart.ts';
import { type ColdRow, runColdStart } from './cold-start.ts';
import { bundleRampartServer, httpConfigs } from './configs.ts';
import { privateDatabase } from './database.ts';
import { type HttpRow, runHttpBench, summarize } from './http-bench.ts';
import { describeMachine, pinning } from './machine.ts';
import { startOtlpSink } from './otlp-sink.ts';
import { packageBenches, runPackageBench } from './package-benches.ts';
import { keptPart, renderResults } from './results.ts';

const { values } = parseArgs({
  options: { quick: { type: 'boolean' }, out: { type: 'string' }, only: { type: 'string' } },
});
const env = process.env;
const quick = values.quick === true || env.BENCH_QUICK === '1';
const number = (name: string, fallback: number) => (env[name] ? Number(env[name]) : fallback);
function positive(name: string, value: number): number {
  if (Number.isFinite(value) && value > 0) return value;
  process.stderr.write(`bench: ${name} must be a positive number, got ${JSON.stringify(env[name])}\n`);
  process.exit(1);
}
const settings = {
  rounds: number('BENCH_ROUNDS', quick ? 2 : 5),
  seconds: number('BENCH_SECONDS', quick ? 1 : 3),
  amount: number('BENCH_AMOUNT', 0) || undefined,
  warmupRequests: number('BENCH_WARMUP', quick ? 300 : 2000),
  connections: 32,
  coldRuns: number('BENCH_COLD_RUNS', quick ? 1 : 5),
};
// The open-loop pass: bare Fastify, the usual stack and Rampart at 10% at one rate, half the slowest one's.
const fixedRate = {
  servers: ['bare', 'usual-10', 'rampart-10'],
  share: number('BENCH_RATE_SHARE', 0.5),
  ...(env.BENCH_RATE ? { rate: positive('BENCH_RATE', Number(env.BENCH_RATE)) } : {}),
  rounds: number('BENCH_RATE_ROUNDS', quick ? 1 : 3),
  seconds: number('BENCH_RATE_SECONDS', quick ? 1 : 4),
  warmupSeconds: quick ? 0.2 : 0.5,
  connections: settings.connections,
};
const sections = new Set((values.only ?? env.BENCH_ONLY ?? 'http,cold,db,tasks').split(','));
if (quick) sections.delete('db');
const out = resolve(
  values.out ??
    env.BENCH_OUT ??
    (quick
      ? join(tmpdir(), 'rampart-bench-quick', 'RESULTS.md')
      : fileURLToPath(new URL('../RESULTS.md', import.meta.url))),
);
const redisUrl = env.BENCH_REDIS_URL || env.TEST_REDIS_URL || undefined;
const databaseUrl = env.BENCH_DATABASE_URL || env.TEST_DATABASE_URL || undefined;

const print = (line: string) => process.stdout.write(`${line}\n`);
const startedAt = new Date();
const started = performance.now();
const machine = describeMachine();
const pins = pinning();
const core = (which: string) => (pins.available ? which : undefined);
print(
  `rampart bench (${quick ? 'quick' : 'full'}): ${machine.cores} cores, load average ${machine.loadStart.map((v) => v.toFixed(1)).join(' ')}, ` +
    `${pins.available ? 'servers pinned to core 0 and the load generator to core 1' : 'no pinning (taskset missing or one core)'}`,
);

const sink = await startOtlpSink();
// The service's own tables go into a database of the bench's own, dropped at the end.
const ownDatabase =
  databaseUrl && (sections.has('http') || sections.has('cold'))
    ? await privateDatabase(databaseUrl)
    : undefined;
let http: HttpRow[] | undefined;
let cold: ColdRow[] | undefined;
const packages = [];
let chart: string | undefined;
let exportsSeen = 0;
try {
  if (sections.has('http')) {
    print(
      `\n1. HTTP${redisUrl ? ' (and 5. the Redis rate-limit store)' : ''}: ${settings.rounds} rounds, ` +
        `${settings.amount ? `${settings.amount} requests` : `${settings.seconds} s`} per load`,
    );
    const wanted = env.BENCH_SERVERS?.split(',');
    // The generated service ships as a bundle (rampart-bundle): the bench's Rampart server is bundled the same way.
    const rampartEntry = await bundleRampartServer();
    const configs = httpConfigs(sink.url, redisUrl, ownDatabase?.url, rampartEntry).filter(
      (config) => !wanted || wanted.includes(config.id),
    );
    const series = await runHttpBench(configs, {
      ...settings,
      serverCore: core(pins.server),
      loadCore: core(pins.load),
      ...(fixedRate.rounds > 0 ? { fixedRate } : {}),
      progress: print,
    });
    http = summarize(series, 'bare');
    mkdirSync(dirname(out), { recursive: true });
    const bars = (key: 'rpsRatio' | 'cpuRatio'): ChartBar[] =>
      (http ?? [])
        .filter((entry) => entry.id !== 'bare')
        .map((entry) => ({
          label: `${entry.name} ${entry.route}`,
          value: entry[key],
          group: entry.id.startsWith('rampart') ? 'rampart' : 'usual',
        }));
    const svg = ratioChart(
      'Rampart vs the usual stack, as multiples of bare Fastify',
      `${startedAt.toISOString().slice(0, 10)}, ${machine.cores} cores, load average ${machine.loadStart[0]?.toFixed(1)}; medians of ${settings.rounds} interleaved rounds`,
      [
        {
          title: 'requests/s (higher is better)',
          bars: bars('rpsRatio'),
          goal: { value: 0.5, caption: 'goal ≥ 0.5x' },
        },
        {
          title: 'server CPU per request (lower is better)',
          bars: bars('cpuRatio'),
          goal: { value: 2, caption: 'goal ≤ 2x' },
        },
      ],
    );
    const svgPath = join(dirname(out), 'ratios.svg');
    const pngPath = join(dirname(out), 'ratios.png');
    chart = writeChart(svg, svgPath, pngPath) ? basename(pngPath) : basename(svgPath);
  }
  if (sections.has('cold')) {
    print(`\n2. Cold start to the first 200: ${settings.coldRuns} alternating runs`);
    cold = await runColdStart({
      runs: settings.coldRuns,
      sinkUrl: sink.url,
      databaseUrl: ownDatabase?.url,
      core: core(pins.server),
      progress: print,
    });
  }
  for (const bench of packageBenches({ quick, databaseUrl })) {
    const section = bench.dir.endsWith('db') ? 'db' : 'tasks';
    if (!sections.has(section)) continue;
    print(`\n${section === 'db' ? 3 : 4}. ${bench.name}`);
    packages.push(await runPackageBench(bench, quick ? 90_000 : 240_000, print));
  }
} finally {
  exportsSeen = sink.exports();
  await sink.close();
  await ownDatabase?.drop();
}

mkdirSync(dirname(out), { recursive: true });
const markdown = renderResults(
  {
    mode: quick ? 'quick' : 'full',
    startedAt,
    seconds: (performance.now() - started) / 1000,
    machine,
    loadEnd: loadavg(),
    pinned: pins.available,
    settings: { ...settings, seconds: settings.amount ? 0 : settings.seconds },
    fixedRate: fixedRate.rounds > 0 ? fixedRate : undefined,
    http,
    cold,
    packages,
    chart,
    exports: exportsSeen,
    rampartDatabase: databaseUrl ? 'PostgreSQL, a database of its own' : 'PGlite in memory',
  },
  keptPart(existsSync(out) ? readFileSync(out, 'utf8') : undefined),
);
writeFileSync(out, markdown);
print(`\nwrote ${out}${chart ? ` and ${join(dirname(out), chart)}` : ''}`);
