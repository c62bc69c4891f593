import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const worker = fileURLToPath(new URL('./load-worker.ts', import.meta.url));

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
  const args = [worker, JSON.stringify(options)];
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
  // 'close', not 'exit': stdout may still hold the report when the process has exited.
  const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
  if (code !== 0) throw new Error(`the load generator exited with ${signal ?? code}: ${err}`);
  try {
    return JSON.parse(out) as LoadResult;
  } catch {
    throw new Error(`the load generator's report is not JSON: ${JSON.stringify(out.slice(0, 200))} ${err}`);
  }
}
