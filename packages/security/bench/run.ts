// On-demand benchmark: `pnpm bench`. Every figure is a ratio against a baseline measured in the same run, so
// the numbers mean the same on a busy laptop and on CI. Bounded: each measurement runs a fixed count.
import { createCipheriv, createHmac, randomBytes } from 'node:crypto';
import { createDb, migrate } from '@rampart/db';
import Fastify from 'fastify';
import { parseApiKey } from '../src/api-key-format.ts';
import { createApiKeys } from '../src/api-keys.ts';
import { apiKeyAuthPlugin } from '../src/fastify/auth-plugin.ts';
import { problemErrorsPlugin } from '../src/fastify/errors-plugin.ts';
import { securityHeadersPlugin } from '../src/fastify/headers-plugin.ts';
import { rateLimitPlugin } from '../src/fastify/rate-limit-plugin.ts';
import { createFieldCipher } from '../src/field-cipher.ts';
import { securityHeaders } from '../src/headers.ts';
import { migrationsFolder, migrationsTable } from '../src/migrations-folder.ts';
import { createWebhookSigner } from '../src/webhook.ts';

const out = (line: string) => process.stdout.write(`${line}\n`);

async function opsPerSecond(count: number, run: () => unknown | Promise<unknown>): Promise<number> {
  for (let index = 0; index < Math.min(1_000, count / 10); index += 1) await run();
  const started = performance.now();
  for (let index = 0; index < count; index += 1) await run();
  return count / ((performance.now() - started) / 1000);
}

function report(name: string, baseline: number, measured: number, label = 'req/s') {
  out(
    `${name.padEnd(52)} ${measured.toFixed(0).padStart(9)} ${label}   ${(measured / baseline).toFixed(2)}x of baseline`,
  );
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** Runs every variant in interleaved rounds (so JIT warm-up and machine noise hit all alike); medians. */
async function interleaved(
  variants: { name: string; run: () => unknown | Promise<unknown> }[],
  rounds: number,
  count: number,
): Promise<Map<string, number>> {
  const samples = new Map(variants.map((variant) => [variant.name, [] as number[]]));
  for (const variant of variants) await opsPerSecond(count, variant.run);
  for (let round = 0; round < rounds; round += 1) {
    for (const variant of variants) samples.get(variant.name)!.push(await opsPerSecond(count, variant.run));
  }
  return new Map([...samples].map(([name, values]) => [name, median(values)]));
}

const PEPPER = randomBytes(32).toString('hex');
const database = await createDb();
await migrate(database, { migrationsFolder, migrationsTable });
const keys = createApiKeys({ db: database.db, pepper: PEPPER });
const { key } = await keys.create({ name: 'bench', scopes: ['read'] });

out('HTTP per request through inject (Fastify routing and hooks, no sockets), median of 5 rounds');
const bare = Fastify();
bare.get('/', async () => ({ ok: true }));
const withHeaders = Fastify();
await withHeaders.register(securityHeadersPlugin);
withHeaders.get('/', async () => ({ ok: true }));
const perRequest = Fastify();
perRequest.addHook('onSend', async (_request, reply) => {
  reply.headers(securityHeaders());
});
perRequest.get('/', async () => ({ ok: true }));
const full = Fastify();
await full.register(securityHeadersPlugin);
await full.register(problemErrorsPlugin);
await full.register(rateLimitPlugin, { max: 1_000_000_000, timeWindowMs: 60_000 });
await full.register(apiKeyAuthPlugin, { verifier: keys });
full.get('/', { config: { auth: { scopes: ['read'] } } }, async () => ({ ok: true }));
const limited = Fastify();
await limited.register(problemErrorsPlugin);
await limited.register(rateLimitPlugin, { max: 1_000_000_000, timeWindowMs: 60_000 });
limited.get('/', async () => ({ ok: true }));
const authed = Fastify();
await authed.register(apiKeyAuthPlugin, { verifier: keys });
authed.get('/', { config: { auth: { scopes: ['read'] } } }, async () => ({ ok: true }));
const apps = { bare, withHeaders, perRequest, limited, authed, full };
for (const app of Object.values(apps)) await app.ready();
const http = await interleaved(
  [
    { name: 'bare Fastify (baseline)', run: () => bare.inject({ method: 'GET', url: '/' }) },
    { name: '+ security headers (precomputed)', run: () => withHeaders.inject({ method: 'GET', url: '/' }) },
    {
      name: '  (for comparison: headers rebuilt per request)',
      run: () => perRequest.inject({ method: 'GET', url: '/' }),
    },
    { name: '+ errors + rate limit (memory) alone', run: () => limited.inject({ method: 'GET', url: '/' }) },
    {
      name: '+ API key auth alone (cached)',
      run: () => authed.inject({ method: 'GET', url: '/', headers: { 'x-api-key': key } }),
    },
    {
      name: '+ errors + rate limit (memory) + API key (cached)',
      run: () => full.inject({ method: 'GET', url: '/', headers: { 'x-api-key': key } }),
    },
  ],
  5,
  2_000,
);
const httpBaseline = http.get('bare Fastify (baseline)')!;
for (const [name, rate] of http) report(name, httpBaseline, rate);
for (const app of Object.values(apps)) await app.close();

out('\nCore operations against the bare primitive they wrap, median of 5 rounds');
const secret = parseApiKey(key)!.secret;
const cipher = createFieldCipher({ keys: [{ version: 1, key: randomBytes(32).toString('base64') }] });
const rawKey = randomBytes(32);
const context = { table: 'people', column: 'ssn', rowId: '0190c3a0-0000-7000-8000-000000000000' };
const stored = cipher.encrypt('123-45-6789', context);
let tick = 0;
const signer = createWebhookSigner({
  secrets: [randomBytes(24).toString('hex')],
  now: () => Date.now() + tick,
});
const body = 'x'.repeat(1024);
const core = await interleaved(
  [
    {
      name: 'HMAC-SHA256 of a key secret (baseline for verify)',
      run: () => createHmac('sha256', PEPPER).update(secret).digest(),
    },
    { name: 'API key verify (cache hit)', run: () => keys.verify(key) },
    {
      name: 'raw AES-256-GCM encrypt (baseline for field encrypt)',
      run: () => {
        const gcm = createCipheriv('aes-256-gcm', rawKey, randomBytes(12));
        return Buffer.concat([gcm.update('123-45-6789'), gcm.final(), gcm.getAuthTag()]);
      },
    },
    { name: 'field encrypt (AAD, envelope)', run: () => cipher.encrypt('123-45-6789', context) },
    { name: 'field decrypt', run: () => cipher.decrypt(stored, context) },
    {
      name: 'HMAC-SHA256 of 1 KiB (baseline for webhooks)',
      run: () => createHmac('sha256', 'k').update(body).digest(),
    },
    {
      name: 'webhook sign + verify (1 KiB, replay store)',
      run: async () => {
        tick += 1;
        // A distinct body each time: the same body in the same second is (rightly) a replay.
        const unique = `${body}${tick}`;
        await signer.verify(unique, signer.sign(unique));
      },
    },
  ],
  5,
  5_000,
);
const pairs: [string, string][] = [
  ['HMAC-SHA256 of a key secret (baseline for verify)', 'API key verify (cache hit)'],
  ['raw AES-256-GCM encrypt (baseline for field encrypt)', 'field encrypt (AAD, envelope)'],
  ['raw AES-256-GCM encrypt (baseline for field encrypt)', 'field decrypt'],
  ['HMAC-SHA256 of 1 KiB (baseline for webhooks)', 'webhook sign + verify (1 KiB, replay store)'],
];
for (const [baselineName, name] of pairs) {
  report(baselineName, core.get(baselineName)!, core.get(baselineName)!, 'ops/s');
  report(name, core.get(baselineName)!, core.get(name)!, 'ops/s');
}

await keys.close();
await database.close();
