import { createHmac } from 'node:crypto';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { problemErrorsPlugin } from './fastify/errors-plugin.ts';
import { createMemoryReplayStore, createWebhookSigner } from './webhook.ts';

const OLD = 'whsec_old_0123456789abcdef';
const NEW = 'whsec_new_0123456789abcdef';

async function codeOf(run: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await run();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
}

describe('createWebhookSigner', () => {
  it('signs HMAC-SHA256 over "<timestamp>.<body>" and verifies it once', async () => {
    let now = 1_700_000_000_000;
    const signer = createWebhookSigner({ secrets: [NEW], now: () => now });
    const header = signer.sign('{"event":"paid"}');
    const expected = createHmac('sha256', NEW).update('1700000000.{"event":"paid"}').digest('hex');
    expect(header).toBe(`t=1700000000,v1=${expected}`);
    now += 10_000;
    await expect(signer.verify('{"event":"paid"}', header)).resolves.toEqual({ timestamp: 1_700_000_000 });
    expect(await codeOf(() => signer.verify('{"event":"paid"}', header))).toBe(
      'RAMPART_SECURITY_WEBHOOK_REPLAYED',
    );
  });

  it('rejects a changed body, a wrong secret and garbage headers', async () => {
    const signer = createWebhookSigner({ secrets: [NEW] });
    const other = createWebhookSigner({ secrets: ['whsec_other_0123456789'] });
    const header = signer.sign('body');
    expect(await codeOf(() => signer.verify('body!', header))).toBe(
      'RAMPART_SECURITY_WEBHOOK_SIGNATURE_INVALID',
    );
    expect(await codeOf(() => signer.verify('body', other.sign('body')))).toBe(
      'RAMPART_SECURITY_WEBHOOK_SIGNATURE_INVALID',
    );
    for (const bad of [undefined, '', 'v1=abc', `t=${Math.floor(Date.now() / 1000)}`, 'x'.repeat(5000)]) {
      expect(await codeOf(() => signer.verify('body', bad))).toMatch(
        /WEBHOOK_(SIGNATURE|TIMESTAMP)_INVALID$/,
      );
    }
  });

  it('rejects timestamps outside the tolerance window in either direction', async () => {
    let now = 1_700_000_000_000;
    const signer = createWebhookSigner({ secrets: [NEW], toleranceSeconds: 60, now: () => now });
    const header = signer.sign('b');
    now += 61_000;
    expect(await codeOf(() => signer.verify('b', header))).toBe('RAMPART_SECURITY_WEBHOOK_TIMESTAMP_INVALID');
    now -= 122_000;
    expect(await codeOf(() => signer.verify('b', header))).toBe('RAMPART_SECURITY_WEBHOOK_TIMESTAMP_INVALID');
    now += 61_000;
    await expect(signer.verify('b', header)).resolves.toBeDefined();
  });

  it('accepts every active secret during rotation and signs with the newest', async () => {
    const before = createWebhookSigner({ secrets: [OLD] });
    const during = createWebhookSigner({ secrets: [NEW, OLD] });
    const after = createWebhookSigner({ secrets: [NEW] });
    await expect(during.verify('x', before.sign('x'))).resolves.toBeDefined();
    await expect(after.verify('x', during.sign('x'))).resolves.toBeDefined();
    expect(await codeOf(() => after.verify('y', before.sign('y')))).toBe(
      'RAMPART_SECURITY_WEBHOOK_SIGNATURE_INVALID',
    );
  });

  it('accepts Buffer bodies and a header listing several signatures', async () => {
    const signer = createWebhookSigner({ secrets: [NEW] });
    const header = signer.sign(Buffer.from('raw'));
    await expect(signer.verify(Buffer.from('raw'), `${header},v1=${'0'.repeat(64)}`)).resolves.toBeDefined();
  });

  it.each([
    [{ secrets: [] }],
    [{ secrets: ['short'] }],
    [{ secrets: NEW }],
    [{ secrets: [NEW], toleranceSeconds: 0 }],
    [{ secrets: [NEW], toleranceSeconds: 1e9 }],
    [{ secrets: [NEW], maxRemembered: -5 }],
    [{ secrets: [NEW], maxRemembered: 0 }],
    [{ secrets: [NEW], maxRemembered: Number.NaN }],
    [{ secrets: [NEW], maxRemembered: 1.5 }],
    [{ secrets: [NEW], maxRemembered: '100' }],
    [{ secrets: [NEW], maxRemembered: 1e12 }],
    [{ secrets: [NEW], replayStore: {} }],
    [{ secrets: [NEW], replayStore: { remember: () => true }, maxRemembered: 10 }],
    [{ secrets: [NEW], now: 1_700_000_000_000 }],
    [{ secrets: [NEW], tolerance: 60 }],
  ])('rejects invalid options (%#)', async (options) => {
    expect(await codeOf(async () => createWebhookSigner(options as never))).toBe(
      'RAMPART_SECURITY_OPTIONS_INVALID',
    );
  });

  it('the memory replay store refuses a bound that would hang, forget at once or never bound', async () => {
    for (const max of [-5, 0, Number.NaN, 2.5, Number.POSITIVE_INFINITY]) {
      expect(await codeOf(async () => createMemoryReplayStore(max))).toBe('RAMPART_SECURITY_OPTIONS_INVALID');
    }
    const store = createMemoryReplayStore(1, () => 0);
    expect(store.remember('a', 10)).toBe(true);
    expect(store.remember('a', 10)).toBe(false);
  });

  it('asks for the raw body: a parsed object is a coded error, not a TypeError', async () => {
    const signer = createWebhookSigner({ secrets: [NEW] });
    const header = signer.sign('{"a":1}');
    expect(await codeOf(() => signer.verify({ a: 1 } as never, header))).toBe(
      'RAMPART_SECURITY_OPTIONS_INVALID',
    );
    expect(await codeOf(async () => signer.sign({ a: 1 } as never))).toBe('RAMPART_SECURITY_OPTIONS_INVALID');
  });

  it('the README recipe: a webhook route with its own raw-body parser verifies the exact bytes sent', async () => {
    const signer = createWebhookSigner({ secrets: [NEW] });
    const app = Fastify({ logger: false });
    await app.register(problemErrorsPlugin);
    await app.register(async (hooks) => {
      hooks.removeContentTypeParser('application/json');
      hooks.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) =>
        done(null, body),
      );
      hooks.post('/webhooks', async (request) => {
        await signer.verify(
          request.body as Buffer,
          request.headers['x-webhook-signature'] as string | undefined,
        );
        return { event: JSON.parse((request.body as Buffer).toString('utf8')).event };
      });
    });
    app.post('/other', async (request) => ({ parsed: request.body }));
    await app.ready();
    // Spacing and key order a re-serialisation would change.
    const payload = '{ "event":"paid",  "amount": 1.50 }';
    const signed = await app.inject({
      method: 'POST',
      url: '/webhooks',
      headers: { 'content-type': 'application/json', 'x-webhook-signature': signer.sign(payload) },
      payload,
    });
    expect(signed.json()).toEqual({ event: 'paid' });
    const forged = await app.inject({
      method: 'POST',
      url: '/webhooks',
      headers: { 'content-type': 'application/json', 'x-webhook-signature': signer.sign('{}') },
      payload,
    });
    expect(forged.json()).toMatchObject({ status: 401, code: 'RAMPART_SECURITY_WEBHOOK_SIGNATURE_INVALID' });
    // Other routes keep the hardened parser.
    const other = await app.inject({
      method: 'POST',
      url: '/other',
      headers: { 'content-type': 'application/json' },
      payload: '{"__proto__":{"x":1}}',
    });
    expect(other.json().code).toBe('RAMPART_SECURITY_PROTOTYPE_POISONING');
    await app.close();
  });
});
