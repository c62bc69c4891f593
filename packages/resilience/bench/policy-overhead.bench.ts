// What a policy and the HTTP client cost per call, as ratios against a baseline measured in the same run.
// Run with `pnpm bench` (bounded: a few seconds; every server on 127.0.0.1).
import { createServer } from 'node:http';
import { Agent, request } from 'undici';
import { createHttpClient } from '../src/http-client.ts';
import { createPolicy } from '../src/policy.ts';

async function measure(name: string, iterations: number, run: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < Math.min(1_000, iterations / 10); i++) await run(); // warm-up
  const started = performance.now();
  for (let i = 0; i < iterations; i++) await run();
  const perCallUs = ((performance.now() - started) * 1_000) / iterations;
  process.stdout.write(`${name.padEnd(44)} ${perCallUs.toFixed(2).padStart(9)} µs/call\n`);
  return perCallUs;
}

const ratio = (name: string, value: number, baseline: number) =>
  process.stdout.write(`${name.padEnd(44)} ${(value / baseline).toFixed(2).padStart(9)} × baseline\n`);

const work = async () => 42;
const calls = 100_000;
const baseline = await measure('baseline: await fn()', calls, work);
const full = createPolicy({ name: 'bench' });
const policyUs = await measure('policy: timeout + retry + breaker', calls, () => full.execute(work));
const bulkheaded = createPolicy({ name: 'bench-bulkhead', bulkhead: { limit: 64 } });
const bulkheadUs = await measure('policy: + bulkhead', calls, () => bulkheaded.execute(work));
const signal = new AbortController().signal;
const deadlineUs = await measure('policy: + caller signal + deadline', calls, () =>
  full.execute(work, { signal, deadlineMs: 5_000 }),
);
ratio('policy / baseline', policyUs, baseline);
ratio('policy + bulkhead / baseline', bulkheadUs, baseline);
ratio('policy + signal + deadline / baseline', deadlineUs, baseline);

const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end('{"ok":true}');
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as { port: number };
const url = `http://127.0.0.1:${port}`;
const agent = new Agent();
const requests = 3_000;
const rawUs = await measure('baseline: undici request + body', requests, async () => {
  const response = await request(`${url}/x`, { dispatcher: agent });
  await response.body.arrayBuffer();
});
const client = createHttpClient({
  baseUrl: url,
  policy: createPolicy({ name: 'bench-http' }),
  propagate: () => {},
});
const clientUs = await measure('http client: policy + body cap + headers', requests, () =>
  client.request({ path: '/x' }),
);
ratio('http client / undici', clientUs, rawUs);

await client.close();
await agent.close();
server.close();
