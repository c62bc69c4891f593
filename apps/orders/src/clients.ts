import type { PolicyObserver } from '@rampart/resilience';
import type { Env } from './env.ts';
import { createInventory } from './inventory.ts';
import type { TaskClients } from './tasks.ts';
import { createWebhookSender } from './webhooks.ts';

export interface Clients extends TaskClients {
  close(): Promise<void>;
}

/** The outbound clients the environment names, for the API (app.ts) and the worker (worker.ts) alike. */
export function createClients(env: Env, observer?: PolicyObserver): Clients {
  const withObserver = observer ? { observer } : {};
  const inventory = createInventory({
    url: env.INVENTORY_URL,
    apiKey: env.INVENTORY_API_KEY,
    attemptTimeoutMs: env.INVENTORY_TIMEOUT_MS,
    deadlineMs: env.INVENTORY_TIMEOUT_MS * 3,
    ...withObserver,
  });
  const webhooks =
    env.WEBHOOK_URL && env.WEBHOOK_SECRET
      ? createWebhookSender({
          url: env.WEBHOOK_URL,
          secrets: env.WEBHOOK_SECRET.split(',').map((secret) => secret.trim()),
          timeoutMs: 10_000,
          ...withObserver,
        })
      : undefined;
  return {
    inventory,
    webhooks,
    async close() {
      await Promise.all([inventory.close(), webhooks?.close()]);
    },
  };
}
