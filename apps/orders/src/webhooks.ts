import { createHttpClient, createPolicy, type PolicyObserver } from '@rampart/resilience';
import { createWebhookSigner } from '@rampart/security';

export interface WebhookOptions {
  /** Where events are POSTed. */
  url: string;
  /** Signing secrets, newest first (the first signs; the receiver accepts any during a rotation). */
  secrets: readonly string[];
  timeoutMs: number;
  observer?: PolicyObserver;
}

/** What a receiver gets: no personal data, only what names the order; it fetches the rest with a key. */
export interface WebhookEvent {
  /** Stable across redeliveries: receivers deduplicate on it. */
  id: string;
  type: 'order.created';
  createdAt: string;
  data: { orderId: string; sku: string; quantity: number };
}

export interface WebhookSender {
  /** POSTs the event signed (`webhook-signature: t=...,v1=...`); throws unless the receiver answers 2xx. */
  send(event: WebhookEvent, signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

/** Thrown for a receiver's non-2xx answer, so the task retries and finally dead-letters with the status. */
export class WebhookRejectedError extends Error {
  readonly code = 'RAMPART_ORDERS_WEBHOOK_REJECTED';
  readonly status: number;
  constructor(status: number) {
    super(`the webhook receiver answered ${status}`);
    this.name = 'WebhookRejectedError';
    this.status = status;
  }
}

/**
 * Signed webhook delivery. One attempt per task run: the task's own retry policy (backoff, dead letter)
 * repeats it, so a receiver that is down for an hour still gets the event, in order of the backoff.
 */
export function createWebhookSender(options: WebhookOptions): WebhookSender {
  const signer = createWebhookSigner({ secrets: options.secrets });
  const url = new URL(options.url);
  const client = createHttpClient({
    baseUrl: url.origin,
    policy: createPolicy({
      name: 'webhooks',
      attemptTimeoutMs: options.timeoutMs,
      retry: false,
      breaker: false,
      ...(options.observer ? { observer: options.observer } : {}),
    }),
  });
  const path = `${url.pathname}${url.search}`;
  return {
    async send(event, signal) {
      const body = JSON.stringify(event);
      const response = await client.request({
        method: 'POST',
        path,
        body,
        signal,
        headers: {
          'content-type': 'application/json',
          'idempotency-key': event.id,
          'webhook-signature': signer.sign(body),
        },
      });
      if (response.status < 200 || response.status >= 300) throw new WebhookRejectedError(response.status);
    },
    close: () => client.close(),
  };
}
