// One load run, in its own process (see load.ts): autocannon driven through its API, with each 2xx
// response's latency kept at full resolution. autocannon's own report rounds latencies to whole
// milliseconds (its histogram records integers), and at tens of thousands of requests per second a
// server's p99 is 1–3 ms, so a ratio of two such figures moves in steps of 0.5–1x; these are exact.
import { createRequire } from 'node:module';

interface WorkerRequest {
  url: string;
  connections: number;
  duration?: number;
  amount?: number;
  method: string;
  headers: Record<string, string>;
  body?: string;
}

interface Instance {
  on(event: 'response', listener: (client: unknown, status: number, bytes: number, ms: number) => void): void;
}
type Autocannon = (
  options: Record<string, unknown>,
  done: (error: Error | null, result: AutocannonResult) => void,
) => Instance;
interface AutocannonResult {
  requests: { average: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
}

/** Nearest-rank percentile of ascending `sorted` (the value at or below which `q` of them fall). */
export function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil(q * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

function main(): void {
  const request = JSON.parse(process.argv[2] ?? '') as WorkerRequest;
  const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;
  let latencies = new Float64Array(1 << 16);
  let count = 0;
  const instance = autocannon(
    {
      url: request.url,
      connections: request.connections,
      method: request.method,
      headers: request.headers,
      ...(request.body !== undefined ? { body: request.body } : {}),
      ...(request.amount ? { amount: request.amount } : { duration: request.duration ?? 1 }),
    },
    (error, result) => {
      if (error) {
        process.stderr.write(`load: ${error.message}\n`);
        process.exitCode = 1;
        return;
      }
      const sorted = latencies.subarray(0, count).sort();
      process.stdout.write(
        JSON.stringify({
          rps: result.requests.average,
          ok: result['2xx'],
          failed: result.errors + result.timeouts + result.non2xx,
          p50: percentile(sorted, 0.5),
          p99: percentile(sorted, 0.99),
        }),
      );
    },
  );
  instance.on('response', (_client, status, _bytes, ms) => {
    if (status < 200 || status > 299) return; // as autocannon's own latency figures
    if (count === latencies.length) {
      const grown = new Float64Array(latencies.length * 2);
      grown.set(latencies);
      latencies = grown;
    }
    latencies[count++] = ms;
  });
}

if (process.argv[1] && import.meta.filename === process.argv[1]) main();
