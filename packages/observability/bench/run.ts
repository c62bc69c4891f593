// Per-request cost of the observability plugin against bare Fastify, and cold start with the register
// hook, measured in one run. Each server is its own process, the load generator (autocannon) another.
// Run with `pnpm bench` (builds dist first). Bounded: about 80 s on a quiet machine.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, request } from 'node:http';
import { type AddressInfo, createServer as createNetServer, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

const print = (line: string): void => {
  process.stdout.write(`${line}\n`);
};
const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const serverFile = here('./server.ts');
const register = here('../dist/bin/register.js');
const autocannon = here('../node_modules/autocannon/autocannon.js');
const coldOnly = process.argv.includes('--cold');
const SECONDS = 2;
const ROUNDS = 3;
const CONNECTIONS = 32;
const COLD_RUNS = 5;

// An OTLP sink standing in for a collector: it reads each export and answers 200.
let exported = 0;
const sink = createServer((req, res) => {
  req.on('data', () => {});
  req.on('end', () => {
    exported += 1;
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
});
sink.listen(0, '127.0.0.1');
await once(sink, 'listening');
const sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;

interface Config {
  name: string;
  mode: 'bare' | 'logger-quiet' | 'plugin' | 'plugin-quiet';
  hook: boolean;
  env?: Record<string, string>;
}
const otlp = (ratio: string) => ({
  OTEL_SERVICE_NAME: 'bench',
  OTEL_EXPORTER_OTLP_ENDPOINT: sinkUrl,
  OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
  OTEL_TRACES_SAMPLER_ARG: ratio,
  OTEL_BSP_SCHEDULE_DELAY: '1000',
});
// A collector that accepts connections and never answers.
const held = new Set<Socket>();
const blackhole = createNetServer((socket) => {
  held.add(socket);
  socket.on('error', () => {});
});
blackhole.listen(0, '127.0.0.1');
await once(blackhole, 'listening');
const deadUrl = `http://127.0.0.1:${(blackhole.address() as AddressInfo).port}`;

const configs: Config[] = [
  { name: 'bare fastify', mode: 'bare', hook: false },
  { name: 'fastify + our logger (silent), no plugin', mode: 'logger-quiet', hook: false },
  { name: 'plugin, no tracing, logger silent', mode: 'plugin-quiet', hook: false },
  { name: 'plugin: metrics + access log, no tracing', mode: 'plugin', hook: false },
  {
    name: 'plugin + register, exporter none (default)',
    mode: 'plugin',
    hook: true,
    env: { OTEL_SERVICE_NAME: 'bench' },
  },
  { name: 'plugin + register, OTLP, 10% sampled', mode: 'plugin', hook: true, env: otlp('0.1') },
  { name: 'plugin + register, OTLP, 100% sampled', mode: 'plugin', hook: true, env: otlp('1') },
  {
    name: 'same, collector hangs (never answers)',
    mode: 'plugin',
    hook: true,
    env: { ...otlp('1'), OTEL_EXPORTER_OTLP_ENDPOINT: deadUrl },
  },
];

function start(config: Config): {
  child: ChildProcess;
  port: Promise<number>;
  firstOk: Promise<{ wall: number; cpu: number }>;
} {
  const started = performance.now();
  const args = [...(config.hook ? ['--import', register] : []), serverFile, config.mode];
  const child = spawn(process.execPath, args, {
    env: { PATH: process.env.PATH, NODE_ENV: 'production', ...config.env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk) => {
      out += String(chunk);
      const match = /listening (\d+)/.exec(out);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`${config.name}: server exited with ${code}`)));
  });
  // Cold start: from spawn to the first 200 on a real route, and the CPU the server spent until then
  // (less sensitive than wall time to other work on a shared machine).
  const firstOk = port.then(
    (p) =>
      new Promise<{ wall: number; cpu: number }>((resolve, reject) => {
        request({ host: '127.0.0.1', port: p, path: '/__stats' }, (res) => {
          let body = '';
          res.on('data', (chunk) => {
            body += chunk;
          });
          res.on('end', () => {
            if (res.statusCode !== 200) return reject(new Error(`first request answered ${res.statusCode}`));
            const { cpu } = JSON.parse(body) as { cpu: NodeJS.CpuUsage };
            resolve({ wall: performance.now() - started, cpu: (cpu.user + cpu.system) / 1000 });
          });
        })
          .on('error', reject)
          .end();
      }),
  );
  return { child, port, firstOk };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await once(child, 'exit');
}

/** `limit`: '-d', seconds (a measured run) or '-a', a request count (a warm-up). */
async function load(
  port: number,
  limit: ['-d' | '-a', number],
): Promise<{ rps: number; p99: number; errors: number }> {
  // Not execFileSync: the OTLP sink lives in this process and must keep answering during the load.
  const child = spawn(
    process.execPath,
    [
      autocannon,
      '-j',
      '-c',
      String(CONNECTIONS),
      limit[0],
      String(limit[1]),
      `http://127.0.0.1:${port}/users/42`,
    ],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  let out = '';
  child.stdout?.on('data', (chunk) => {
    out += String(chunk);
  });
  await once(child, 'exit');
  const result = JSON.parse(out) as {
    requests: { average: number };
    latency: { p99: number };
    errors: number;
    non2xx: number;
  };
  return { rps: result.requests.average, p99: result.latency.p99, errors: result.errors + result.non2xx };
}

async function stats(port: number): Promise<{ cpu: NodeJS.CpuUsage; served: number }> {
  const response = await fetch(`http://127.0.0.1:${port}/__stats`);
  return (await response.json()) as { cpu: NodeJS.CpuUsage; served: number };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

if (!coldOnly) {
  print(
    `observability bench: ${CONNECTIONS} connections, ${ROUNDS} interleaved rounds of ${SECONDS}s per config, GET /users/:id`,
  );
  // All servers up at once, loaded one at a time, round after round: drift on a shared machine hits every
  // config alike, and each round's ratios are taken against that round's bare run.
  const servers = [];
  for (const config of configs) {
    const server = start(config);
    servers.push({
      config,
      child: server.child,
      port: await server.port,
      rps: [] as number[],
      cpu: [] as number[],
      p99: [] as number[],
      errors: 0,
    });
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const server of servers) {
      await load(server.port, ['-a', 3000]); // warm-up: JIT, keep-alive sockets
      const before = await stats(server.port);
      const result = await load(server.port, ['-d', SECONDS]);
      const after = await stats(server.port);
      const cpuMicros = after.cpu.user + after.cpu.system - before.cpu.user - before.cpu.system;
      server.rps.push(result.rps);
      server.p99.push(result.p99);
      server.cpu.push(cpuMicros / Math.max(1, after.served - before.served));
      server.errors += result.errors;
    }
  }
  for (const server of servers) await stop(server.child);

  const bareRun = servers[0];
  const ratio = (values: number[], base: number[]) =>
    median(values.map((value, i) => value / (base[i] ?? 1)));
  print('\nthroughput: req/s (median of rounds), ratio to bare (median of per-round ratios), p99 latency');
  for (const server of servers) {
    print(
      `  ${server.config.name.padEnd(46)} ${median(server.rps).toFixed(0).padStart(6)} req/s  ratio ${ratio(server.rps, bareRun?.rps ?? []).toFixed(2)}  p99 ${median(server.p99)} ms${server.errors ? `  ERRORS ${server.errors}` : ''}`,
    );
  }
  print('\nserver CPU per request (µs, user+system, median of rounds) and what the plugin adds to bare');
  for (const server of servers) {
    const cpu = median(server.cpu);
    const base = median(bareRun?.cpu ?? []);
    print(
      `  ${server.config.name.padEnd(46)} ${cpu.toFixed(1).padStart(6)} µs  ratio ${(cpu / base).toFixed(2)}${server === bareRun ? '' : `  +${(cpu - base).toFixed(1)} µs`}`,
    );
  }
}

// Cold start, alternating the configs so machine noise hits them alike so machine noise hits both alike; median of 7.
const coldConfigs: Config[] = [
  configs[0] as Config,
  configs[3] as Config,
  configs[5] as Config,
  {
    ...(configs[5] as Config),
    name: 'plugin + register, OTLP + pg instrumentation',
    env: { ...otlp('0.1'), OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'undici,pg' },
  },
];
const samples = new Map<string, Array<{ wall: number; cpu: number }>>(
  coldConfigs.map((config) => [config.name, []]),
);
for (let run = 0; run < COLD_RUNS; run++) {
  for (const config of coldConfigs) {
    const { child, firstOk } = start(config);
    samples.get(config.name)?.push(await firstOk);
    await stop(child);
  }
}
const coldOf = (name: string | undefined, key: 'wall' | 'cpu') =>
  median((samples.get(name ?? '') ?? []).map((sample) => sample[key]));
print(
  `\ncold start to the first 200 (median of ${COLD_RUNS}; goal: hooked <= 1.3x bare). wall = spawn to response,\ncpu = server CPU until then; "hook" = ratio to the same app without the register hook`,
);
for (const name of samples.keys()) {
  const cells = (['wall', 'cpu'] as const).map((key) => {
    const ms = coldOf(name, key);
    const hook = name.includes('register') ? ` hook ${(ms / coldOf(configs[3]?.name, key)).toFixed(2)}` : '';
    return `${key} ${ms.toFixed(0).padStart(4)} ms ratio ${(ms / coldOf(configs[0]?.name, key)).toFixed(2)}${hook}`;
  });
  print(`  ${name.padEnd(46)} ${cells.join('   ')}`);
}
sink.close();
for (const socket of held) socket.destroy();
blackhole.close();
print(`\nOTLP sink received ${exported} export requests`);
