import { invalidOptions } from './errors.ts';

/** A service as dashboards and alert rules see it: its name, its routes and its tasks. */
export interface ServiceDescription {
  /** The `service` label its metrics carry (createMetrics' `service`). */
  service: string;
  /** Route templates as registered in fastify, e.g. `{ method: 'GET', route: '/orders/:id' }`. */
  routes: ReadonlyArray<{ method: string; route: string; latencyMs?: number }>;
  /** Task names registered with @rampart/tasks. */
  tasks?: readonly string[];
}

const SERVICE = /^[a-z][a-z0-9_-]{0,62}$/;
const METHOD = /^[A-Z]+$/;
// Quotes and backslashes would end up inside PromQL string literals.
const ROUTE = /^\/[^"\\\s]*$/;

export function checkDescription(description: ServiceDescription, where: string): void {
  if (typeof description?.service !== 'string' || !SERVICE.test(description.service)) {
    throw invalidOptions(`${where}: service must match ${SERVICE}`);
  }
  if (!Array.isArray(description.routes)) throw invalidOptions(`${where}: routes must be an array`);
  const seen = new Set<string>();
  for (const route of description.routes) {
    if (!METHOD.test(route?.method ?? '') || typeof route.route !== 'string' || !ROUTE.test(route.route)) {
      throw invalidOptions(
        `${where}: each route needs an upper-case method and a template starting with / (no quotes, backslashes or spaces)`,
      );
    }
    if (route.latencyMs !== undefined && !(Number.isFinite(route.latencyMs) && route.latencyMs > 0)) {
      throw invalidOptions(`${where}: ${route.method} ${route.route}: latencyMs must be a positive number`);
    }
    const key = `${route.method} ${route.route}`;
    if (seen.has(key)) throw invalidOptions(`${where}: route ${key} is listed twice`);
    seen.add(key);
  }
  for (const task of description.tasks ?? []) {
    if (typeof task !== 'string' || task.length === 0)
      throw invalidOptions(`${where}: task names must be non-empty strings`);
  }
}

/** A PromQL string literal (double-quoted, escaped). */
export const promString = (value: string): string => JSON.stringify(value);

/** Escapes a literal for use inside a PromQL regex matcher. */
export const promRegex = (value: string): string => value.replace(/[.*+?^${}()|[\]\\]/g, '\\\\$&');
