// One load run, in its own process (see load.ts): autocannon driven through its API, with each 2xx
// response's latency kept at full resolution. autocannon's own report rounds latencies down to whole
// milliseconds (its histogram records integers), and at tens of thousands of requests per second a
// server's p99 is 1–3 ms, so a ratio of two such figures moves in steps of 0.5–1x; these are exact.
// Unlike autocannon's report, which by default mixes in error responses, only 2xx latencies count: a
// fast 4xx must not flatter a server's latency (the bench's loads all expect 2xx; others are `failed`).
import { createRequire } from 'node:module';
import { latencyPercentiles } from './stats.ts';

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
  non2xx: number;
  '2xx': number;
}

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
    process.stdout.write(
      JSON.stringify({
        rps: result.requests.average,
        ok: result['2xx'],
        // autocannon counts a timeout in both `errors` and `timeouts`: `errors` alone counts it once.
        failed: result.errors + result.non2xx,
        recorded: count,
        ...latencyPercentiles(latencies.subarray(0, count)),
      }),
    );
  },
);
instance.on('response', (_client, status, _bytes, ms) => {
  if (status < 200 || status > 299) return;
  if (count === latencies.length) {
    const grown = new Float64Array(latencies.length * 2);
    grown.set(latencies);
    latencies = grown;
  }
  latencies[count++] = ms;
});
