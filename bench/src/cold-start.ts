import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCommand } from '@rampart/bundle';
import { clockTicks, cpuMicros, peakRssBytes, rssBytes } from './machine.ts';
import { Item, ItemBody, ItemParams, plainSchema } from './routes.ts';
import { median } from './stats.ts';

export interface ColdSample {
  /** Spawn to the first 200, ms. */
  wall: number;
  /** Server CPU until then, ms. */
  cpu: number;
  /** Server resident set size at that moment, MiB. */
  rss: number;
  /** The highest it had been until then (VmHWM), MiB. */
  peakRss: number;
}

export interface ColdRow {
  name: string;
  wall: number;
  cpu: number;
  wallRatio: number;
  cpuRatio: number;
  /** Median resident set size at the first 200, MiB. */
  rss: number;
  /** Median of the highest resident set size up to the first 200, MiB. */
  peakRss: number;
  runs: number;
}

interface ColdTarget {
  name: string;
  args: string[];
  env: Record<string, string>;
  path: string;
  headers: Record<string, string>;
  /** Polled until it answers 200 before `path` is asked: the service is not up until it is ready. */
  readyPath?: string;
}

const PEPPER = 'bench-pepper-0123456789abcdef0123456789abcdef';
const api = dirname(dirname(createRequire(import.meta.url).resolve('@rampart/api/app')));
const bare = fileURLToPath(new URL('./servers/bare-cold.js', import.meta.url));
// bare-cold.js gets the routes' schemas as JSON: bare Fastify does not load TypeBox to start.
const bareSchemas = JSON.stringify({
  params: plainSchema(ItemParams),
  body: plainSchema(ItemBody),
  item: plainSchema(Item),
});

/**
 * The service as it ships (its start command, `node [flags] dist/server.js`: the bundle, which starts
 * tracing first; to the sink at 10%) on an already migrated database, with a key made by its own keys CLI; its first 200 is
 * GET /items with that key. `databaseUrl` set: PostgreSQL; else PGlite in a temporary data directory.
 */
function prepareService(
  sinkUrl: string,
  databaseUrl: string | undefined,
): { target: ColdTarget; cleanup: () => void } {
  const start = startCommand(api);
  const dataDir = databaseUrl ? undefined : mkdtempSync(join(tmpdir(), 'rampart-bench-cold-'));
  const env: Record<string, string> = {
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : { DATA_DIR: dataDir as string }),
    API_KEY_PEPPER: PEPPER,
    NODE_ENV: 'production',
    LOG_LEVEL: 'info',
  };
  const created = spawnSync(
    process.execPath,
    [join(api, 'src/cli.ts'), 'create', '--name', 'bench', '--scopes', 'items:read'],
    { cwd: api, env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 60_000 },
  );
  if (created.status !== 0) throw new Error(`keys CLI failed: ${created.stderr}`);
  const { key } = JSON.parse(created.stdout) as { key: string };
  return {
    target: {
      name: `generated service (${databaseUrl ? 'PostgreSQL' : 'PGlite on disk'}, tracing 10%)`,
      args: [...start.flags, join(api, start.entry)],
      env: {
        ...env,
        PORT: '0',
        OTEL_SERVICE_NAME: 'api',
        OTEL_EXPORTER_OTLP_ENDPOINT: sinkUrl,
        OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
        OTEL_TRACES_SAMPLER_ARG: '0.1',
      },
      path: '/items',
      headers: { 'x-api-key': key },
      readyPath: '/health/ready',
    },
    cleanup: () => {
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Polls readiness every 10 ms (for at most 60 s) until it answers 200. */
async function untilReady(url: string): Promise<void> {
  const deadline = performance.now() + 60_000;
  for (;;) {
    const response = await fetch(url).catch(() => undefined);
    await response?.arrayBuffer();
    if (response?.status === 200) return;
    if (performance.now() > deadline) throw new Error(`${url} never answered 200`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function coldOnce(target: ColdTarget, core: string | undefined, ticks: number): Promise<ColdSample> {
  const started = performance.now();
  const [command, args] = core
    ? ['taskset', ['-c', core, process.execPath, ...target.args]]
    : [process.execPath, target.args];
  const child = spawn(command, args, {
    cwd: api,
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', ...target.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr = (stderr + String(chunk)).slice(-4000);
  });
  const exited = new Promise<never>((_resolve, reject) =>
    child.once('exit', (code) => reject(new Error(`${target.name} exited with ${code}: ${stderr}`))),
  );
  try {
    const port = await Promise.race([
      exited,
      new Promise<number>((resolve) => {
        let out = '';
        child.stdout?.on('data', (chunk) => {
          out += String(chunk);
          const match = /listening (?:on http:\/\/[^:]+:)?(\d+)/.exec(out);
          if (match) resolve(Number(match[1]));
        });
      }),
    ]);
    child.stdout?.resume();
    if (target.readyPath)
      await Promise.race([exited, untilReady(`http://127.0.0.1:${port}${target.readyPath}`)]);
    const response = await Promise.race([
      exited,
      fetch(`http://127.0.0.1:${port}${target.path}`, { headers: target.headers }),
    ]);
    await response.arrayBuffer();
    const wall = performance.now() - started;
    if (response.status !== 200) throw new Error(`${target.name}: first response was ${response.status}`);
    return {
      wall,
      cpu: cpuMicros(child.pid as number, ticks) / 1000,
      rss: rssBytes(child.pid as number) / 1048576,
      peakRss: peakRssBytes(child.pid as number) / 1048576,
    };
  } finally {
    exited.catch(() => undefined);
    const gone = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await gone;
    clearTimeout(kill);
  }
}

/**
 * Cold start to the first 200, alternating the targets so machine noise hits them alike; medians of `runs`.
 * The service counts as started once /health/ready answers 200 and then GET /items has: readiness is what a
 * load balancer waits for, so work moved after listen is still counted.
 */
export async function runColdStart(options: {
  runs: number;
  sinkUrl: string;
  databaseUrl: string | undefined;
  core: string | undefined;
  progress: (line: string) => void;
}): Promise<ColdRow[]> {
  const ticks = clockTicks();
  const services = [prepareService(options.sinkUrl, undefined)];
  if (options.databaseUrl) services.push(prepareService(options.sinkUrl, options.databaseUrl));
  const targets: ColdTarget[] = [
    {
      name: 'bare Fastify',
      args: [bare],
      env: { BENCH_SCHEMAS: bareSchemas },
      path: '/bench/items/1',
      headers: {},
    },
    ...services.map((service) => service.target),
  ];
  const samples = targets.map(() => [] as ColdSample[]);
  try {
    for (let run = 0; run < options.runs; run++) {
      for (const [index, target] of targets.entries()) {
        const sample = await coldOnce(target, options.core, ticks);
        samples[index]?.push(sample);
        options.progress(
          `  cold start ${run + 1}/${options.runs} ${target.name}: ${sample.wall.toFixed(0)} ms wall, ${sample.cpu.toFixed(0)} ms CPU`,
        );
      }
    }
  } finally {
    for (const service of services) service.cleanup();
  }
  const base = samples[0] ?? [];
  return targets.map((target, index) => {
    const mine = samples[index] ?? [];
    const wall = median(mine.map((sample) => sample.wall));
    const cpu = median(mine.map((sample) => sample.cpu));
    return {
      name: target.name,
      wall,
      cpu,
      wallRatio: wall / median(base.map((sample) => sample.wall)),
      cpuRatio: cpu / median(base.map((sample) => sample.cpu)),
      rss: median(mine.map((sample) => sample.rss)),
      peakRss: median(mine.map((sample) => sample.peakRss)),
      runs: mine.length,
    };
  });
}
