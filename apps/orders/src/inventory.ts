import { createHttpClient, createPolicy, type Policy, type PolicyObserver } from '@rampart/resilience';
import { InventoryUnconfiguredError, OutOfStockError, UnknownSkuError } from './errors.ts';

export interface InventoryOptions {
  /** Where the inventory service listens: `http://inventory:3001`. */
  url: string;
  /** A key of inventory's with the `reservations:write` scope; without one, every call fails with 503. */
  apiKey: string | undefined;
  /** Time one attempt may take, and the whole call with its retries. */
  attemptTimeoutMs: number;
  deadlineMs: number;
  observer?: PolicyObserver;
}

export interface Reservation {
  orderId: string;
  sku: string;
  quantity: number;
}

export interface Inventory {
  /** The policy every call to inventory goes through (readiness reports its breaker). */
  readonly policy: Policy;
  /**
   * Reserves stock for an order. Safe to repeat: inventory keeps one reservation per order id, so a
   * retry after a lost response reserves nothing twice (the call is sent as idempotent for that reason).
   */
  reserve(reservation: Reservation, signal?: AbortSignal): Promise<{ reservationId: string }>;
  /** Gives a reservation's stock back; a reservation already released counts as released. */
  release(reservationId: string, signal?: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

/**
 * The inventory service through @rampart/resilience: attempt timeout, retries with jitter for transient
 * failures, a breaker, traceparent injected (so one trace spans both services). Inventory's answers that
 * are the order's fault become this service's coded errors; its outages stay ResilienceErrors (502/503/504).
 */
export function createInventory(options: InventoryOptions): Inventory {
  const policy = createPolicy({
    name: 'inventory',
    attemptTimeoutMs: options.attemptTimeoutMs,
    deadlineMs: options.deadlineMs,
    breaker: { consecutiveFailures: 5, halfOpenAfterMs: 5_000 },
    ...(options.observer ? { observer: options.observer } : {}),
  });
  const client = createHttpClient({
    baseUrl: options.url,
    policy,
    headers: options.apiKey ? { 'x-api-key': options.apiKey } : {},
  });
  const configured = () => {
    if (!options.apiKey) throw new InventoryUnconfiguredError();
  };
  return {
    policy,
    async reserve(reservation, signal) {
      configured();
      const response = await client.request({
        method: 'POST',
        path: '/reservations',
        body: { ...reservation },
        idempotent: true,
        ...(signal ? { signal } : {}),
      });
      if (response.status === 201 || response.status === 200) {
        return { reservationId: response.json<{ id: string }>().id };
      }
      const code = readCode(response.text());
      if (code === 'RAMPART_INVENTORY_OUT_OF_STOCK') throw new OutOfStockError(reservation.sku);
      if (code === 'RAMPART_INVENTORY_SKU_UNKNOWN') throw new UnknownSkuError(reservation.sku);
      // Anything else (our key refused, a body inventory rejects) is this service's bug, not the client's:
      // it leaves as a 500 and the log says what inventory answered.
      throw new Error(`inventory answered ${response.status} ${code ?? '(no code)'}`);
    },
    async release(reservationId, signal) {
      configured();
      const response = await client.request({
        method: 'DELETE',
        path: `/reservations/${encodeURIComponent(reservationId)}`,
        ...(signal ? { signal } : {}),
      });
      if (response.status === 204 || response.status === 404) return;
      throw new Error(`inventory answered ${response.status} ${readCode(response.text()) ?? '(no code)'}`);
    },
    close: () => client.close(),
  };
}

function readCode(body: string): string | undefined {
  try {
    const code = (JSON.parse(body) as { code?: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  } catch {
    return undefined;
  }
}
