import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { RateWorkerReport, RateWorkerRequest } from './rate-worker.ts';

const worker = fileURLToPath(new URL('./load-worker.ts', import.meta.url));
const rateWorker = fileURLToPath(new URL('./rate-worker.ts', import.meta.url));

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
  /** Latencies recorded: one per 2xx response. */
  recorded: number;
  /** Of 2xx responses, in milliseconds with fractions; 0 when there were none. */
  p50: number;
  p99: number;
}

/**
 * One autocannon run in its own process (pinned to `core` when given), through load-worker.ts, which keeps
 * every latency at full resolution: p50 and p99 in milliseconds with fractions, not autocannon's whole ones.
 */
export async function runLoad(request: LoadRequest): Promise<LoadResult> {
  const options = {
    url: `http://127.0.0.1:${request.port}${request.path}`,
    connections: request.connections,
    ...(request.amount ? { amount: request.amount } : { duration: request.seconds ?? 1 }),
    method: request.method ?? 'GET',
    headers: {
      ...request.headers,
      ...(request.body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(request.body !== undefined ? { body: request.body } : {}),
  };
  return runWorker<LoadResult>(worker, options, request.core, 'the load generator');
}

export type RateLoadRequest = Omit<RateWorkerRequest, 'method' | 'headers'> & {
  method?: 'GET' | 'POST';
  headers?: Readonly<Record<string, string>>;
  core: string | undefined;
};
export type RateLoadResult = RateWorkerReport;

/**
 * One open-loop run at a fixed rate in its own process (pinned to `core` when given), through
 * rate-worker.ts: latencies from each request's scheduled send time, so a server's stalls count in full.
 */
export async function runRateLoad(request: RateLoadRequest): Promise<RateLoadResult> {
  const { core, ...rest } = request;
  const options: RateWorkerRequest = {
    ...rest,
    method: request.method ?? 'GET',
    headers: {
      ...request.headers,
      ...(request.body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
  };
  return runWorker<RateLoadResult>(rateWorker, options, core, 'the rate load generator');
}

/** Runs a worker script with its options as JSON and reads its JSON report from stdout. */
async function runWorker<T>(
  script: string,
  options: object,
  core: string | undefined,
  what: string,
): Promise<T> {
  const args = [script, JSON.stringify(options)];
  const [command, argv] = core
    ? ['taskset', ['-c', core, process.execPath, ...args]]
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
  // 'close', not 'exit': stdout may still hold the report when the process has exited.
  const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
  if (code !== 0) throw new Error(`${what} exited with ${signal ?? code}: ${err}`);
  try {
    return JSON.parse(out) as T;
  } catch {
    throw new Error(`${what}'s report is not JSON: ${JSON.stringify(out.slice(0, 200))} ${err}`);
  }
}
