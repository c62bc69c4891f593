import fc from 'fast-check';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { Value } from 'typebox/value';
import {
  BODY_METHODS,
  type Check,
  type CheckContext,
  checkedRoutes,
  concreteUrl,
  keyHeaders,
  label,
} from '../check-context.ts';
import type { RouteRecord } from '../route-table.ts';
import { arbitraryFromSchema, sweepArbitrary } from '../schema-arbitrary.ts';

/** The response schema fastify would use for this status: exact code, then `4xx`-style, then `default`. */
export function responseSchemaFor(route: RouteRecord, status: number): unknown {
  const response = route.schema?.response;
  if (!response) return undefined;
  const found = response[String(status)] ?? response[`${String(status)[0]}xx`] ?? response.default;
  const content = (found as { content?: Record<string, { schema?: unknown }> } | undefined)?.content;
  return content ? content['application/json']?.schema : found;
}

function paramNames(url: string): string[] {
  return [...url.matchAll(/:([A-Za-z0-9_]+)/g)].map((match) => match[1] ?? '');
}

function queryString(value: unknown): string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return '';
  const search = new URLSearchParams();
  for (const [name, entry] of Object.entries(value)) {
    for (const item of Array.isArray(entry) ? entry : [entry]) {
      if (item === undefined) continue;
      search.append(name, typeof item === 'object' ? JSON.stringify(item) : String(item));
    }
  }
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}

function requestArbitrary(route: RouteRecord) {
  const schema = route.schema ?? {};
  const names = paramNames(route.url);
  const params: fc.Arbitrary<unknown> = schema.params
    ? arbitraryFromSchema(schema.params)
    : fc.record(
        Object.fromEntries(
          names.map((name) => [name, fc.oneof(fc.string(), fc.uuid(), fc.nat().map(String))]),
        ),
      );
  const hasBody = BODY_METHODS.has(route.method);
  return fc.record({
    params,
    query: schema.querystring ? sweepArbitrary(schema.querystring) : fc.constant(undefined),
    body: hasBody
      ? schema.body
        ? sweepArbitrary(schema.body)
        : fc.jsonValue({ maxDepth: 2 })
      : fc.constant(undefined),
  });
}

async function send(context: CheckContext, request: InjectOptions): Promise<LightMyRequestResponse> {
  const response = await context.inject(request);
  if (response.statusCode !== 429) return response;
  // The sweep sends more than a test rate limit allows: start a fresh window rather than sweep 429s.
  await context.rebuild();
  return context.inject({ ...request, headers: { ...request.headers, ...keyHeaders(context) } });
}

/** fast-check requests shaped by each route's schema (and some that are not): no 5xx, no response that breaks its schema. */
export const schemaSweepCheck: Check = async (context) => {
  const routes = checkedRoutes(context).filter(
    (route) => !context.options.infrastructurePaths.includes(route.url),
  );
  let requests = 0;
  for (const [index, route] of routes.entries()) {
    const property = fc.asyncProperty(requestArbitrary(route), async ({ params, query, body }) => {
      const values = Object.fromEntries(
        Object.entries((params ?? {}) as Record<string, unknown>).map(([name, value]) => [
          name,
          String(value),
        ]),
      );
      const request: InjectOptions = {
        method: route.method as InjectOptions['method'],
        url: `${concreteUrl(route, values)}${queryString(query)}`,
        headers: keyHeaders(context),
      };
      if (body !== undefined) {
        request.payload = JSON.stringify(body);
        request.headers = { ...request.headers, 'content-type': 'application/json' };
      }
      requests += 1;
      const response = await send(context, request);
      if (response.statusCode >= 500)
        throw new Error(
          `answered ${response.statusCode} to ${request.method} ${request.url}: ${response.body.slice(0, 200)}`,
        );
      const schema = responseSchemaFor(route, response.statusCode);
      if (schema === undefined || response.body === '') return;
      let parsed: unknown;
      try {
        parsed = response.json();
      } catch {
        throw new Error(
          `answered ${response.statusCode} with a body that is not JSON, but declares a response schema`,
        );
      }
      if (!Value.Check(schema as Parameters<typeof Value.Check>[0], parsed))
        throw new Error(
          `answered ${response.statusCode} with a body that breaks its own response schema: ${response.body.slice(0, 200)}`,
        );
    });
    const result = await fc.check(property, {
      numRuns: context.options.sweepRuns,
      seed: context.options.seed + index,
      endOnFailure: true,
    });
    if (result.failed) {
      const reason =
        result.errorInstance instanceof Error ? result.errorInstance.message : String(result.errorInstance);
      // The run's seed, as the `seed` option takes it back (each route draws from seed + its index).
      context.fail(`schema-sweep: ${label(route)} ${reason} (seed ${context.options.seed})`);
    }
  }
  context.note(`${routes.length} route(s), ${requests} request(s), seed ${context.options.seed}`);
};
