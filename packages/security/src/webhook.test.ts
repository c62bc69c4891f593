import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createWebhookSigner } from './webhook.ts';

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

  it.each([[{ secrets: [] }], [{ secrets: ['short'] }], [{ secrets: [NEW], toleranceSeconds: 0 }]])(
    'rejects invalid options (%#)',
    async (options) => {
      expect(await codeOf(async () => createWebhookSigner(options))).toBe('RAMPART_SECURITY_OPTIONS_INVALID');
    },
  );
});
