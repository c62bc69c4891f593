import { createHmac, timingSafeEqual } from 'node:crypto';
import { SecurityError } from './errors.ts';

/** Remembers deliveries already accepted so a captured request cannot be replayed inside the window. */
export interface ReplayStore {
  /** Records `id` until `expiresAtMs`; resolves false when it was already recorded (a replay). */
  remember(id: string, expiresAtMs: number): boolean | Promise<boolean>;
}

export interface WebhookOptions {
  /** Active secrets, newest first: the first signs, any verifies (rotation overlap). */
  secrets: readonly string[];
  /** How far a timestamp may be from now, either way. Default 300 s. */
  toleranceSeconds?: number;
  replayStore?: ReplayStore;
  /** Entries kept by the default in-memory replay store. Default 10 000. */
  maxRemembered?: number;
  /** Clock in milliseconds; tests pass a fake one. */
  now?: () => number;
}

export const WEBHOOK_DEFAULTS = { toleranceSeconds: 300, maxRemembered: 10_000 } as const;
/** Bounds of the options: a tolerance past a day, or a replay store past ten million entries, is a typo. */
const LIMITS = { toleranceSeconds: 86_400, maxRemembered: 10_000_000 } as const;

const invalid = (detail: string) => new SecurityError('RAMPART_SECURITY_OPTIONS_INVALID', { detail });

function boundedInteger(name: keyof typeof LIMITS, value: unknown): number {
  if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > LIMITS[name]) {
    throw invalid(`${name} must be an integer from 1 to ${LIMITS[name]}`);
  }
  return value as number;
}

/** A body as signed: the exact bytes received (a string or bytes), never a parsed object re-serialised. */
function checkBody(body: unknown): void {
  if (typeof body !== 'string' && !(body instanceof Uint8Array)) {
    throw invalid('the webhook body must be the raw request body (a string or bytes), not parsed JSON');
  }
}

export interface WebhookSigner {
  /** The signature header value for `body` at the current time: `t=<unix seconds>,v1=<hex>`. */
  sign(body: string | Uint8Array): string;
  /** Throws a coded error unless the header signs `body` with an active secret, in time, for the first time. */
  verify(body: string | Uint8Array, header: string | undefined): Promise<{ timestamp: number }>;
}

/**
 * An in-memory replay store bounded to `max` entries (oldest evicted first): an integer from 1 to 10 000 000,
 * else RAMPART_SECURITY_OPTIONS_INVALID. Keep it above the deliveries expected within the tolerance window:
 * one evicted early can be replayed until its timestamp leaves the window.
 */
export function createMemoryReplayStore(max: number, now: () => number = Date.now): ReplayStore {
  boundedInteger('maxRemembered', max);
  if (typeof now !== 'function') throw invalid('now must be a function returning milliseconds');
  const seen = new Map<string, number>();
  return {
    remember(id, expiresAtMs) {
      const at = now();
      const previous = seen.get(id);
      if (previous !== undefined && previous > at) return false;
      seen.delete(id);
      seen.set(id, expiresAtMs);
      while (seen.size > max) seen.delete(seen.keys().next().value as string);
      return true;
    },
  };
}

function mac(secret: string, timestamp: number, body: string | Uint8Array): Buffer {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest();
}

/**
 * HMAC-SHA256 webhook signatures over `<timestamp>.<body>`, with a tolerance window, replay rejection and
 * several secrets at once during rotation.
 *
 * @example
 * const signer = createWebhookSigner({ secrets: ['whsec_new', 'whsec_old'] });
 * const header = signer.sign('{"event":"paid"}');
 * await signer.verify('{"event":"paid"}', header);
 */
const OPTION_KEYS = ['secrets', 'toleranceSeconds', 'replayStore', 'maxRemembered', 'now'];

export function createWebhookSigner(options: WebhookOptions): WebhookSigner {
  if (typeof options !== 'object' || options === null) throw invalid('webhook options must be { secrets }');
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.includes(key)) throw invalid(`unknown webhook option "${key}"`);
  }
  if (!Array.isArray(options.secrets)) throw invalid('webhook secrets must be an array of strings');
  const secrets = [...options.secrets];
  if (secrets.length === 0 || secrets.some((secret) => typeof secret !== 'string' || secret.length < 16)) {
    throw invalid('webhook secrets: at least one, each a string of 16 characters or more');
  }
  const toleranceSeconds = boundedInteger(
    'toleranceSeconds',
    options.toleranceSeconds ?? WEBHOOK_DEFAULTS.toleranceSeconds,
  );
  const now = options.now ?? Date.now;
  if (typeof now !== 'function') throw invalid('now must be a function returning milliseconds');
  if (options.replayStore !== undefined) {
    if (typeof options.replayStore?.remember !== 'function') {
      throw invalid('replayStore must have a remember(id, expiresAtMs) method');
    }
    if (options.maxRemembered !== undefined) {
      throw invalid('maxRemembered bounds the built-in replay store; it does nothing with your replayStore');
    }
  }
  const replayStore =
    options.replayStore ??
    createMemoryReplayStore(options.maxRemembered ?? WEBHOOK_DEFAULTS.maxRemembered, now);

  return {
    sign(body) {
      checkBody(body);
      const timestamp = Math.floor(now() / 1000);
      return `t=${timestamp},v1=${mac(secrets[0]!, timestamp, body).toString('hex')}`;
    },
    async verify(body, header) {
      checkBody(body);
      if (typeof header !== 'string' || header.length > 1024) {
        throw new SecurityError('RAMPART_SECURITY_WEBHOOK_SIGNATURE_INVALID');
      }
      let timestamp = Number.NaN;
      const candidates: Buffer[] = [];
      for (const part of header.split(',')) {
        const [name, value = ''] = part.trim().split('=', 2);
        if (name === 't' && /^\d{1,12}$/.test(value)) timestamp = Number(value);
        else if (name === 'v1' && /^[0-9a-f]{64}$/.test(value)) candidates.push(Buffer.from(value, 'hex'));
      }
      if (!Number.isFinite(timestamp) || Math.abs(now() / 1000 - timestamp) > toleranceSeconds) {
        throw new SecurityError('RAMPART_SECURITY_WEBHOOK_TIMESTAMP_INVALID');
      }
      let match: Buffer | undefined;
      // Every secret against every candidate, without early exit: the time taken says nothing about which.
      for (const secret of secrets) {
        const expected = mac(secret, timestamp, body);
        for (const candidate of candidates) if (timingSafeEqual(expected, candidate)) match = expected;
      }
      if (!match) throw new SecurityError('RAMPART_SECURITY_WEBHOOK_SIGNATURE_INVALID');
      const fresh = await replayStore.remember(
        `${timestamp}.${match.toString('hex')}`,
        (timestamp + toleranceSeconds) * 1000 + 1000,
      );
      if (!fresh) throw new SecurityError('RAMPART_SECURITY_WEBHOOK_REPLAYED');
      return { timestamp };
    },
  };
}
