// The bench's measuring loop: runners take turns in small batches, in an order that rotates each round,
// and every figure is a median over rounds, so a swing in machine load (other processes on 2 cores) hits
// every runner alike and a few disturbed batches do not move the result.

export interface Runner {
  insert(id: string, index: number): Promise<unknown>;
  select(id: string): Promise<unknown>;
}

export interface CompareOptions {
  label: string;
  concurrency: number;
  /** Runner name → runner; `raw` is what every ratio is against. */
  runners: Record<string, Runner> & { raw: Runner };
  /** Fresh ids for inserts. */
  newId: () => string;
  batch: number;
  /** Stop starting rounds after this long (a round already begun finishes); at least 3 rounds run. */
  budgetMs: number;
  maxRounds: number;
}

export interface OpFigures {
  /** Median wall time per op over rounds, µs (batch time / batch size, so throughput at the concurrency). */
  wallUs: number;
  /** Median CPU time of this node process (all its threads) per op, µs. */
  cpuUs: number;
  /** Median over rounds of (this runner's wall time per op / raw's in the same round); p25 and p75. */
  ratio: number;
  ratioP25: number;
  ratioP75: number;
  /** Median latency of single ops over all rounds, µs: robust to the few ops another process preempts. */
  latencyUs: number;
  /** latencyUs / raw's latencyUs. */
  latencyRatio: number;
}

export interface Comparison {
  label: string;
  rounds: number;
  /** op → runner → figures */
  figures: Record<'insert' | 'select', Record<string, OpFigures>>;
}

const OPS = ['insert', 'select'] as const;

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const at = (sorted.length - 1) * q;
  const low = Math.floor(at);
  const high = Math.ceil(at);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (at - low);
}

interface Samples {
  /** Per batch: wall µs per op. */
  wall: number[];
  /** Per batch: CPU µs per op. */
  cpu: number[];
  /** Per op: latency µs. */
  latency: number[];
}

/** Runs `count` ops, `concurrency` at a time, and adds one batch (and each op's latency) to `into`. */
async function batchOf(
  count: number,
  concurrency: number,
  op: (index: number) => Promise<unknown>,
  into?: Samples,
): Promise<void> {
  let next = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const opStarted = performance.now();
        await op(next++);
        into?.latency.push((performance.now() - opStarted) * 1_000);
      }
    }),
  );
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  into?.wall.push((wallMs * 1_000) / count);
  into?.cpu.push((used.user + used.system) / count);
}

function figuresOf(samples: Samples, raw: Samples): OpFigures {
  const ratios = samples.wall.map((value, round) => value / raw.wall[round]!);
  const latencyUs = quantile(samples.latency, 0.5);
  return {
    wallUs: quantile(samples.wall, 0.5),
    cpuUs: quantile(samples.cpu, 0.5),
    ratio: quantile(ratios, 0.5),
    ratioP25: quantile(ratios, 0.25),
    ratioP75: quantile(ratios, 0.75),
    latencyUs,
    latencyRatio: latencyUs / quantile(raw.latency, 0.5),
  };
}

export async function compare(options: CompareOptions): Promise<Comparison> {
  const { runners, concurrency, batch } = options;
  const names = Object.keys(runners);
  const fresh = () =>
    new Map(names.map((name): [string, Samples] => [name, { wall: [], cpu: [], latency: [] }]));
  const samples = { insert: fresh(), select: fresh() };
  const stored: string[] = [];

  // Warm-up (not measured): pool connections, named statements on every connection, and enough calls
  // that V8 has optimized each runner's code (drizzle's builder runs many more functions than the driver).
  for (const name of names) {
    const ids = Array.from({ length: 200 }, options.newId);
    await batchOf(ids.length, concurrency, (index) => runners[name]!.insert(ids[index]!, index));
    stored.push(...ids);
    await batchOf(2_000, concurrency, (index) => runners[name]!.select(stored[index % stored.length]!));
  }

  const deadline = Date.now() + options.budgetMs;
  let rounds = 0;
  while (rounds < options.maxRounds && (rounds < 3 || Date.now() < deadline)) {
    const order = names.map((_, index) => names[(index + rounds) % names.length]!);
    for (const name of order) {
      const ids = Array.from({ length: batch }, options.newId);
      const insert = (index: number) => runners[name]!.insert(ids[index]!, index);
      await batchOf(batch, concurrency, insert, samples.insert.get(name));
      stored.push(...ids);
    }
    for (const name of order) {
      const select = (index: number) =>
        runners[name]!.select(stored[(index * 7919 + rounds * 104_729) % stored.length]!);
      await batchOf(batch, concurrency, select, samples.select.get(name));
    }
    rounds += 1;
  }

  const figures = Object.fromEntries(
    OPS.map((op) => {
      const raw = samples[op].get('raw')!;
      return [op, Object.fromEntries(names.map((name) => [name, figuresOf(samples[op].get(name)!, raw)]))];
    }),
  ) as Comparison['figures'];
  return { label: options.label, rounds, figures };
}

export function formatComparison(comparison: Comparison, batch: number): string {
  const lines = [`${comparison.label}: ${comparison.rounds} rounds of ${batch} ops per runner and op`];
  const sign = (value: number) => `${value >= 0 ? '+' : ''}${value.toFixed(1)}`;
  for (const op of OPS) {
    const figures = comparison.figures[op];
    const raw = figures.raw!;
    for (const [name, figure] of Object.entries(figures)) {
      const head =
        `  ${`${op}s`.padEnd(8)} ${name.padEnd(10)} ${(1e6 / figure.wallUs).toFixed(0).padStart(6)}/s ` +
        `${figure.wallUs.toFixed(1).padStart(7)} µs/op  cpu ${figure.cpuUs.toFixed(1).padStart(6)} µs/op  ` +
        `p50 ${figure.latencyUs.toFixed(0).padStart(5)} µs`;
      if (name === 'raw') {
        lines.push(head);
        continue;
      }
      lines.push(
        `${head} | ${figure.ratio.toFixed(2)}x [${figure.ratioP25.toFixed(2)}–${figure.ratioP75.toFixed(2)}]` +
          `  p50 ${figure.latencyRatio.toFixed(2)}x  cpu ${sign(figure.cpuUs - raw.cpuUs)} µs/op`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Median CPU µs per call of a synchronous function, over interleaved rounds. */
export function cpuPerCall(functions: Record<string, () => unknown>, calls: number, rounds: number) {
  const samples = new Map(Object.keys(functions).map((name) => [name, [] as number[]]));
  for (const fn of Object.values(functions)) for (let i = 0; i < calls; i += 1) fn();
  for (let round = 0; round < rounds; round += 1) {
    for (const [name, fn] of Object.entries(functions)) {
      const cpu = process.cpuUsage();
      for (let i = 0; i < calls; i += 1) fn();
      const used = process.cpuUsage(cpu);
      samples.get(name)!.push((used.user + used.system) / calls);
    }
  }
  return Object.fromEntries([...samples].map(([name, values]) => [name, quantile(values, 0.5)]));
}
