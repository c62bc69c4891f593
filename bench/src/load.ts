import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';

const autocannon = createRequire(import.meta.url).resolve('autocannon/autocannon.js');

export interface LoadRequest {
  port: number;
  path: string;
  method?: 'GET' | 'POST';
  body?: string;
  headers?: Readonly<Record<string, string>>;
  connections: number;
  /** Run for this many seconds, or send this many requests (`amount`) and stop. */
  seconds?: number;
  amount?: number;
  core: string | undefined;
}

export interface LoadResult {
  rps: number;
  /** Responses with a 2xx status. */
  ok: number;
  failed: number;
  p50: number;
  p99: number;
}

/** One autocannon run in its own process (pinned to `core` when given); its JSON report, summarised. */
export async function runLoad(request: LoadRequest): Promise<LoadResult> {
  const args = [
    autocannon,
    '-j',
    '-c',
    String(request.connections),
    ...(request.amount ? ['-a', String(request.amount)] : ['-d', String(request.seconds ?? 1)]),
    '-m',
    request.method ?? 'GET',
  ];
  for (const [name, value] of Object.entries(request.headers ?? {})) args.push('-H', `${name}=${value}`);
  if (request.body !== undefined) args.push('-H', 'content-type=application/json', '-b', request.body);
  args.push(`http://127.0.0.1:${request.port}${request.path}`);
  const [command, argv] = request.core
    ? ['taskset', ['-c', request.core, process.execPath, ...args]]
    : [process.execPath, args];
  const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk) => {
    out += String(chunk);
  });
  child.stderr?.on('data', (chunk) => {
    err = (err + String(chunk)).slice(-2000);
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`autocannon exited with ${code}: ${err}`);
  const report = JSON.parse(out) as {
    requests: { average: number };
    latency: { p50: number; p99: number };
    errors: number;
    timeouts: number;
    non2xx: number;
    '2xx': number;
  };
  return {
    rps: report.requests.average,
    ok: report['2xx'],
    failed: report.errors + report.timeouts + report.non2xx,
    p50: report.latency.p50,
    p99: report.latency.p99,
  };
}
