import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import type { LogCapture } from './log-capture.ts';
import { type HardeningTarget, type NormalizedOptions, routeKey } from './options.ts';
import type { RouteRecord } from './route-table.ts';
import { arbitraryFromSchema } from './schema-arbitrary.ts';

/** What a check sees: the built target, its route table and logs, and where to report. */
export interface CheckContext {
  readonly app: FastifyInstance;
  readonly target: HardeningTarget;
  readonly routes: readonly RouteRecord[];
  readonly logs: LogCapture;
  readonly canary: string;
  readonly options: NormalizedOptions;
  /**
   * `app.inject`, except that a load-shed answer (503 with Retry-After, e.g. under-pressure reacting to the
   * kit's own request loop) is retried after a pause instead of being taken for the app's verdict.
   */
  inject(request: InjectOptions): Promise<LightMyRequestResponse>;
  /** Closes the target and builds a fresh one (same log stream and canary): a clean rate-limit window. */
  rebuild(): Promise<void>;
  fail(message: string): void;
  note(message: string): void;
  /**
   * Something the check could not prove for lack of a seam or an option: printed as a `KIT NOT CHECKED:`
   * line by describeHardening (a failure with `failOnNotChecked`), never dropped into notes.
   */
  notChecked(message: string): void;
}

export type Check = (context: CheckContext) => Promise<void>;

export const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);
export const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const CHECKED_METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);

export const label = (route: RouteRecord) => `${route.method} ${route.url}`;

/** Whether a route is named in one of the options' route lists (`'POST /orders'`; trailing slash ignored). */
export function listed(list: readonly string[], route: RouteRecord): boolean {
  return list.includes(routeKey(route.method, route.url));
}

/** The scopes a route declares in `config.auth`, or undefined when it declares none (or 'public'). */
export function scopesOf(route: RouteRecord): readonly string[] | undefined {
  const auth = route.config.auth as { scopes?: unknown } | undefined;
  if (typeof auth !== 'object' || auth === null || !Array.isArray(auth.scopes)) return undefined;
  return auth.scopes.filter((scope): scope is string => typeof scope === 'string');
}

/** Whether a route is an infrastructure path answering without an auth decision (health, metrics). */
export function isInfrastructure(context: CheckContext, route: RouteRecord): boolean {
  return route.config.auth === undefined && context.options.infrastructurePaths.includes(route.url);
}

/** Routes the kit sends requests to (HEAD and OPTIONS answer like their siblings). */
export function checkedRoutes(context: CheckContext): RouteRecord[] {
  return context.routes.filter((route) => CHECKED_METHODS.has(route.method));
}

/** Routes that must refuse a request without a key: all but `auth: 'public'` and undeclared infrastructure. */
export function protectedRoutes(context: CheckContext): RouteRecord[] {
  return checkedRoutes(context).filter((route) => {
    if (route.config.auth === 'public') return false;
    return !isInfrastructure(context, route);
  });
}

export function keyHeaders(context: CheckContext): Record<string, string> {
  return { 'x-api-key': context.target.apiKey };
}

function sampleOne(schema: unknown, seed: number): unknown {
  return fc.sample(arbitraryFromSchema(schema), { numRuns: 1, seed })[0];
}

/** The route's URL with every parameter filled: given values first, then a value from the params schema. */
export function concreteUrl(route: RouteRecord, values: Record<string, string> = {}, seed = 1): string {
  const properties = ((route.schema?.params as { properties?: Record<string, unknown> } | undefined)
    ?.properties ?? {}) as Record<string, unknown>;
  return route.url
    .replace(/:([A-Za-z0-9_]+)(\([^)]*\))?/g, (_match, name: string) => {
      const given = values[name];
      if (given !== undefined) return encodeURIComponent(given);
      const schema = properties[name];
      const value = schema === undefined ? 'hardening-probe' : sampleOne(schema, seed);
      return encodeURIComponent(String(value));
    })
    .replace(/\*$/, 'hardening-probe');
}

const SHED_RETRIES = 5;
const SHED_PAUSE_MS = 1_100;

/** Whether a response is load shedding (503 with Retry-After and no route verdict). */
export function isShed(response: LightMyRequestResponse): boolean {
  return (
    response.statusCode === 503 &&
    response.headers['retry-after'] !== undefined &&
    !/\/health\//.test(response.raw.req.url ?? '')
  );
}

export async function injectUnshed(
  app: FastifyInstance,
  request: InjectOptions,
): Promise<LightMyRequestResponse> {
  let response = await app.inject(request);
  for (let attempt = 0; attempt < SHED_RETRIES && isShed(response); attempt += 1) {
    // under-pressure samples the event loop about once a second: an idle pause lets it recover.
    await sleep(SHED_PAUSE_MS);
    response = await app.inject(request);
  }
  return response;
}

/** The `code` of a problem body, or undefined. */
export function problemCode(response: LightMyRequestResponse): string | undefined {
  try {
    const code = (response.json() as { code?: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  } catch {
    return undefined;
  }
}

export function isProblem(response: LightMyRequestResponse): boolean {
  const type = String(response.headers['content-type'] ?? '');
  if (!type.startsWith('application/problem+json')) return false;
  try {
    const body = response.json() as { status?: unknown; title?: unknown };
    return body.status === response.statusCode && typeof body.title === 'string';
  } catch {
    return false;
  }
}

export function jsonRequest(
  route: RouteRecord,
  url: string,
  headers: Record<string, string>,
  payload?: string,
): InjectOptions {
  const options: InjectOptions = {
    method: route.method as InjectOptions['method'],
    url,
    headers: { ...headers },
  };
  if (BODY_METHODS.has(route.method)) {
    options.payload = payload ?? '{}';
    options.headers = { ...options.headers, 'content-type': 'application/json' };
  }
  return options;
}

export function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}
