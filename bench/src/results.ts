import type { ColdRow } from './cold-start.ts';
import type { FixedRateSettings, HttpRow } from './http-bench.ts';
import type { Machine } from './machine.ts';
import type { PackageBenchResult } from './package-benches.ts';
import { median, medianRatio, percent } from './stats.ts';

/** Everything after this line in RESULTS.md is written by hand and kept when the bench rewrites the file. */
export const KEEP_MARKER =
  '<!-- Written by hand below this line: the bench keeps it when it rewrites the file. -->';

export interface Report {
  mode: 'full' | 'quick';
  startedAt: Date;
  seconds: number;
  machine: Machine;
  loadEnd: readonly number[];
  pinned: boolean;
  settings: {
    rounds: number;
    seconds: number;
    connections: number;
    warmupRequests: number;
    coldRuns: number;
  };
  /** The open-loop pass's settings, when it ran. */
  fixedRate?: FixedRateSettings | undefined;
  http: HttpRow[] | undefined;
  cold: ColdRow[] | undefined;
  packages: PackageBenchResult[];
  chart: string | undefined;
  exports: number;
  /** Where the Rampart servers keep their data. */
  rampartDatabase: string;
}

export interface Goal {
  goal: string;
  figure: string;
  holds: boolean;
}

const x = (value: number) => `${value.toFixed(2)}x`;
/**
 * How far one server's CPU per request moved between rounds: on a quiet host a few percent, on a shared one
 * far more, and every ratio above moves with it.
 */
export function steadiness(rows: readonly HttpRow[], pinned = true): string {
  const ranges = rows
    .filter((row) => (row.id === 'bare' || row.id === 'rampart-10') && row.cpuRange[0] > 0)
    .map(
      (row) =>
        `${row.name} ${row.route} ${row.cpuRange[0].toFixed(0)}–${row.cpuRange[1].toFixed(0)} µs ` +
        `(${x(row.cpuRange[1] / row.cpuRange[0])})`,
    );
  if (ranges.length === 0) return '';
  const steal = stolen(rows, pinned);
  return (
    `How steady the host was — CPU per request, lowest to highest round (highest / lowest): ${ranges.join(', ')}.` +
    (steal ? ` CPU steal during the measured loads: ${steal}.` : '')
  );
}

/**
 * How much of the two cores (unpinned: of the machine) the hypervisor gave to something else during the loads
 * (CPU steal, per load): the part of a virtual machine's noise it can see. On the AMD VM it moved with CPU per
 * request and p99 (bare Fastify's 3-s GET rounds with 0.6–1.5% of its core stolen read 23–26 µs and p99
 * 1.0–1.4 ms, with 4.7–7.7% 26–28 µs and 1.7–2.8 ms), but not all noise shows in it: Rampart's POST read
 * 69–129 µs a request in four rounds of one run with under 1% stolen in each (a neighbour sharing caches or
 * memory bandwidth, for one, steals nothing). /proc/stat counts in 10-ms ticks: a 3-s load's figure moves in
 * steps of about 0.3%.
 */
export function stolen(
  rows: ReadonlyArray<{ steal: readonly number[]; loadSteal: readonly number[] }>,
  pinned = true,
): string {
  const server = rows.flatMap((row) => row.steal);
  const load = rows.flatMap((row) => row.loadSteal);
  if (server.length === 0 && load.length === 0) return '';
  const describe = (what: string, shares: readonly number[]) =>
    `${what} ${percent(median(shares))} of a load's time at the median, ${percent(Math.max(0, ...shares))} at most`;
  const source =
    '(time ready to run while the hypervisor ran something else, from /proc/stat in 10-ms ticks)';
  // Unpinned, both readings are the whole machine's: one figure, not two copies of it under core names.
  if (!pinned) return `${describe('the machine', server)} ${source}`;
  return `${describe("the servers' core", server)}; ${describe("the load generator's", load)} ${source}`;
}

/** Latency in milliseconds, to the microsecond. */
const ms = (value: number) => value.toFixed(3);
const load = (values: readonly number[]) => values.map((value) => value.toFixed(1)).join(' / ');

/** A Markdown table with its columns padded, as the repository's formatter (Biome) writes them. */
function table(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const cells = [header, ...rows].map((cells) => cells.map(String));
  const widths = header.map((_, column) => Math.max(3, ...cells.map((line) => (line[column] ?? '').length)));
  const line = (values: readonly string[]) =>
    `| ${values.map((value, column) => value.padEnd(widths[column] ?? 0)).join(' | ')} |`;
  const [head = [], ...body] = cells;
  return [line(head), line(widths.map((width) => '-'.repeat(width))), ...body.map(line)].join('\n');
}

/** The issue's goals, judged on this run's figures (per route, Rampart at 10% sampling against bare). */
export function judge(http: readonly HttpRow[] | undefined, cold: readonly ColdRow[] | undefined): Goal[] {
  const goals: Goal[] = [];
  for (const route of ['GET', 'POST'] as const) {
    const ours = http?.find((entry) => entry.id === 'rampart-10' && entry.route === route);
    const usual = http?.find((entry) => entry.id === 'usual-10' && entry.route === route);
    if (!ours) continue;
    goals.push(
      { goal: `${route}: req/s ≥ 0.5x bare`, figure: x(ours.rpsRatio), holds: ours.rpsRatio >= 0.5 },
      { goal: `${route}: CPU per request ≤ 2x bare`, figure: x(ours.cpuRatio), holds: ours.cpuRatio <= 2 },
      {
        goal: `${route}: p99 ≤ 2x bare, at saturation (closed loop)`,
        figure: x(ours.p99Ratio),
        holds: ours.p99Ratio <= 2,
      },
    );
    goals.push({
      goal: `${route}: RSS ≤ 1.4x bare`,
      figure: x(ours.rssRatio),
      holds: ours.rssRatio <= 1.4,
    });
    if (usual) {
      // Like every ratio here, the median of per-round ratios: each round's pair ran minutes apart at most.
      const paired = usual.cpuRounds.length > 0 && usual.cpuRounds.length === ours.cpuRounds.length;
      const better = paired ? medianRatio(usual.cpuRounds, ours.cpuRounds) : usual.cpu / ours.cpu;
      goals.push({
        goal: `${route}: ≥ 3.5x better than the usual stack (its CPU per request / ours)`,
        figure: x(better),
        holds: better >= 3.5,
      });
    }
  }
  for (const service of cold?.slice(1) ?? []) {
    goals.push({
      goal: `cold start to first 200 ≤ 1.3x bare (wall), ${service.name}`,
      figure: x(service.wallRatio),
      holds: service.wallRatio <= 1.3,
    });
  }
  return goals;
}

/** The open-loop table: every server at the same rate, latency from each request's scheduled time. */
export function fixedRateSection(
  settings: FixedRateSettings,
  rows: readonly HttpRow[],
  pinned = true,
): string[] {
  const rule =
    settings.rate !== undefined
      ? `a rate set for the run (${settings.rate} req/s)`
      : `${settings.share === 0.5 ? 'half' : `${settings.share} of`} the slowest one's req/s on the route above`;
  const fixed = rows.flatMap((entry) => (entry.fixed ? [entry.fixed] : []));
  const steal = stolen(fixed, pinned);
  const measured = settings.seconds * 1000;
  const stalled = Math.max(0, ...fixed.map((entry) => entry.stalled));
  const longest = Math.max(0, ...fixed.map((entry) => entry.longestStall));
  return [
    '### Latency at a fixed rate (open loop)',
    '',
    `The same servers at the same traffic, below every one's capacity: ${rule}. Requests leave on a schedule fixed in advance ` +
      `(\`src/rate-worker.ts\`, ${settings.connections} keep-alive connections, one request at a time on each), whatever the server does, ` +
      "and each one's latency runs from its scheduled time to its response's last byte, so a stall counts for every request it held up " +
      '(a closed loop sends nothing meanwhile and measures only the requests in flight). ' +
      `${settings.rounds} interleaved rounds of ${settings.seconds} s, each after ${settings.warmupSeconds} s at the rate; medians of rounds, ratios medians of per-round ratios. ` +
      'CPU per request is higher than at saturation: at a lower rate the server handles fewer requests per wake-up.',
    '',
    table(
      [
        'server',
        'route',
        'rate req/s',
        'held req/s',
        'p50 ms',
        'p90 ms',
        'p99 ms',
        'p99.9 ms',
        'p50 × bare',
        'p90 × bare',
        'p99 × bare',
        'CPU µs/req',
        'CPU × bare',
        'failed',
      ],
      rows.flatMap((entry) => {
        const row = entry.fixed;
        if (!row) return [];
        return [
          [
            entry.name,
            entry.route,
            row.rate,
            row.held.toFixed(0),
            ms(row.p50),
            ms(row.p90),
            ms(row.p99),
            ms(row.p999),
            x(row.p50Ratio),
            x(row.p90Ratio),
            x(row.p99Ratio),
            row.cpu.toFixed(0),
            x(row.cpuRatio),
            row.failed > 0 ? `${row.failed} (${row.error ?? 'unknown'})` : 0,
          ],
        ];
      }),
    ),
    '',
    `The load generator's own core stood still (event-loop turns more than 1 ms apart) for up to ${stalled.toFixed(0)} ms in a ` +
      `${settings.seconds}-s run (median of rounds, worst server; ${((100 * stalled) / measured).toFixed(1)}% of the time), the longest stall ` +
      `${longest.toFixed(1)} ms. Requests due in a stall — the generator's or the server's core, whose stalls the generator cannot see — wait it out, ` +
      'so once stalls add up to about 1% of a run, p99 measures the host rather than the server.' +
      (steal ? ` CPU steal in these runs: ${steal}.` : ''),
    '',
  ];
}

export function renderResults(report: Report, kept: string): string {
  const { machine, settings } = report;
  const out: string[] = [
    '# Rampart bench results',
    '',
    `Written by \`pnpm bench\`${report.mode === 'quick' ? ' (quick mode: fewer, shorter rounds; treat as a smoke test)' : ''} on ${report.startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC in ${Math.round(report.seconds)} s. ` +
      'Every ratio is measured against a baseline in the same run; on a shared machine trust the CPU time per request most.',
    '',
    '## Machine',
    '',
    table(
      ['CPU', 'cores', 'memory', 'kernel', 'Node', 'load average at start (1/5/15 min)', 'at end', 'pinning'],
      [
        [
          machine.cpu,
          machine.cores,
          `${machine.memoryGiB} GiB`,
          machine.kernel,
          machine.node,
          load(machine.loadStart),
          load(report.loadEnd),
          report.pinned
            ? 'servers on core 0, load generator on core 1 (taskset)'
            : 'none (taskset missing or 1 core)',
        ],
      ],
    ),
    '',
  ];
  const goals = judge(report.http, report.cold);
  if (goals.length > 0) {
    out.push(
      '## Goals',
      '',
      table(
        ['goal', 'this run', 'holds'],
        goals.map((goal) => [goal.goal, goal.figure, goal.holds ? 'yes' : '**no**']),
      ),
      '',
    );
  }
  if (report.http) {
    out.push(
      '## 1. HTTP: the generated service vs bare Fastify vs the usual stack',
      '',
      `GET ${'`/bench/items/:id`'} (validated params) and POST ${'`/bench/items`'} (validated JSON body), the same routes and handlers in every server. ` +
        `autocannon (latencies kept to the microsecond, not its whole milliseconds), ${settings.connections} connections, ${settings.rounds} interleaved rounds of ${settings.seconds} s each after a warm-up of ${settings.warmupRequests} requests; ` +
        'figures are medians of rounds, ratios medians of per-round ratios to bare Fastify on the same route. ' +
        'CPU = server user + system time per response (/proc). RSS after each round.',
      '',
      table(
        [
          'server',
          'route',
          'req/s',
          '× bare',
          'p50 ms',
          'p99 ms',
          'p99 × bare',
          'CPU µs/req',
          'CPU × bare',
          'RSS MiB',
          'RSS × bare',
          'failed',
        ],
        report.http.map((entry) => [
          entry.name,
          entry.route,
          entry.rps.toFixed(0),
          x(entry.rpsRatio),
          ms(entry.p50),
          ms(entry.p99),
          x(entry.p99Ratio),
          entry.cpu.toFixed(0),
          x(entry.cpuRatio),
          entry.rssMiB.toFixed(0),
          x(entry.rssRatio),
          entry.failed,
        ]),
      ),
      '',
      `Rampart's database: ${report.rampartDatabase} (API keys are cached, so requests do not query it). OTLP exports received by the sink: ${report.exports}.`,
      '',
    );
    const steady = steadiness(report.http, report.pinned);
    if (steady) out.push(steady, '');
    if (report.chart) out.push(`![ratios to bare Fastify](${report.chart})`, '');
    const fixed = report.http.filter((entry) => entry.fixed);
    if (report.fixedRate && fixed.length > 0)
      out.push(...fixedRateSection(report.fixedRate, fixed, report.pinned));
  }
  if (report.cold) {
    out.push(
      '## 2. Cold start to the first 200',
      '',
      `From spawn to the first 200 response (the service's once /health/ready has answered 200), the server's CPU until then, its RSS at that moment and the highest it had been until then (what a container's memory limit has to hold: a transient peak can be gone by the first 200); ${report.cold[0]?.runs ?? 0} alternating runs, medians.`,
      '',
      table(
        ['server', 'wall ms', '× bare', 'CPU ms', '× bare', 'RSS MiB', 'peak RSS MiB'],
        report.cold.map((entry) => [
          entry.name,
          entry.wall.toFixed(0),
          x(entry.wallRatio),
          entry.cpu.toFixed(0),
          x(entry.cpuRatio),
          entry.rss.toFixed(0),
          entry.peakRss.toFixed(0),
        ]),
      ),
      '',
    );
  }
  report.packages.forEach((bench, index) => {
    out.push(
      `## ${index + 3}. ${bench.name}`,
      '',
      `Its own \`pnpm bench\`, run as a child process (${bench.seconds.toFixed(0)} s${bench.ok ? '' : ', **failed**'}); its output:`,
      '',
      '```text',
      bench.output,
      '```',
      '',
    );
  });
  const redis = report.http?.find((entry) => entry.id === 'rampart-10-redis');
  const memory = report.http?.find((entry) => entry.id === 'rampart-10' && entry.route === 'GET');
  out.push('## 5. Rate limit: Redis store vs in-memory', '');
  if (redis && memory) {
    out.push(
      'The generated service at 10% sampling with `REDIS_URL` set (one Redis round trip per request), against the same service with the in-memory store, GET route, same run:',
      '',
      table(
        ['store', 'req/s', 'p99 ms', 'CPU µs/req'],
        [
          ['in memory', memory.rps.toFixed(0), ms(memory.p99), memory.cpu.toFixed(0)],
          ['Redis', redis.rps.toFixed(0), ms(redis.p99), redis.cpu.toFixed(0)],
          [
            'Redis / in memory',
            x(redis.rps / memory.rps),
            memory.p99 > 0 ? x(redis.p99 / memory.p99) : '—',
            x(redis.cpu / memory.cpu),
          ],
        ],
      ),
      '',
    );
  } else {
    out.push('Not measured in this run (set TEST_REDIS_URL or BENCH_REDIS_URL).', '');
  }
  // One blank line after the marker, however many the kept part starts with, so rewrites are stable.
  out.push(KEEP_MARKER, kept.replace(/^\n+/, '\n'));
  return `${out.join('\n').trimEnd()}\n`;
}

/** The hand-written part of an existing RESULTS.md (after the marker), or ''. */
export function keptPart(existing: string | undefined): string {
  if (!existing) return '';
  const at = existing.indexOf(KEEP_MARKER);
  return at === -1 ? '' : existing.slice(at + KEEP_MARKER.length);
}
