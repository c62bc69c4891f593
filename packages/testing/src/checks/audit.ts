import fc from 'fast-check';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import {
  BODY_METHODS,
  type Check,
  checkedRoutes,
  concreteUrl,
  keyHeaders,
  label,
  problemCode,
  WRITE_METHODS,
} from '../check-context.ts';
import { routeKey, type WriteSample } from '../options.ts';
import type { RouteRecord } from '../route-table.ts';
import { arbitraryFromSchema } from '../schema-arbitrary.ts';

const ATTEMPTS = 10;
const ORDER = ['POST', 'PUT', 'PATCH', 'DELETE'];

/** One request to try, and where it came from (to replay a failure). */
interface Attempt {
  body: unknown;
  params: Record<string, string>;
  from: string;
}

function paramNames(url: string): string[] {
  return [...url.matchAll(/:([A-Za-z0-9_]+)/g)].map((match) => match[1] ?? '');
}

/** The collection a route writes to: `/orders/:id` and `/orders/` both belong to `/orders`. */
function collectionOf(url: string): string {
  return url.replace(/\/:.*$/, '').replace(/\/+$/, '') || '/';
}

/** How the service makes a route reach 2xx: a body that succeeds, and an id a write answered with or a row the build made. */
function hint(route: RouteRecord, postable: boolean): string {
  const key = routeKey(route.method, route.url);
  const params = paramNames(route.url);
  const body = BODY_METHODS.has(route.method) ? 'body: <one that succeeds>' : '';
  const given =
    params.length > 0 ? `params: { ${params.map((name) => `${name}: <an existing one>`).join(', ')} }` : '';
  const sample = [body, given].filter(Boolean).join(', ');
  const reuse =
    params.length > 0 && postable
      ? ` (or make the POST of ${collectionOf(route.url)} succeed: the id it answers with is reused)`
      : '';
  return `return writeSamples: { '${key}': { ${sample} } } from the build function${reuse}`;
}

function describe(response: LightMyRequestResponse): string {
  const code = problemCode(response);
  return code ? `${response.statusCode} ${code}` : String(response.statusCode);
}

/**
 * Every write that succeeds (2xx) adds at least one audit record. Each write route is tried with the
 * target's writeSamples first, then with bodies drawn from its schema (seeded); one that never answers 2xx
 * is reported as not checked, naming the sample it needs.
 */
export const auditCheck: Check = async (context) => {
  const { seed } = context.options;
  const routes = checkedRoutes(context)
    .filter((route) => WRITE_METHODS.has(route.method))
    .sort((a, b) => ORDER.indexOf(a.method) - ORDER.indexOf(b.method));
  if (routes.length === 0) {
    context.note('no write routes');
    return;
  }
  const read = context.target.auditRecords;
  if (!read) {
    context.fail('audit: the target gives no auditRecords() reader, so writes cannot be checked');
    return;
  }
  const samples = new Map<string, readonly WriteSample[]>();
  for (const [name, value] of Object.entries(context.target.writeSamples ?? {})) {
    const [method = '', url = ''] = name.trim().split(/\s+/);
    const key = routeKey(method, url);
    if (!routes.some((route) => routeKey(route.method, route.url) === key)) {
      context.fail(
        `audit: writeSamples names ${JSON.stringify(name)}, which is not a write route of this app (routes: ${routes.map(label).join(', ')})`,
      );
      continue;
    }
    samples.set(key, Array.isArray(value) ? value : [value as WriteSample]);
  }
  // Ids the app handed out (e.g. a POST answering { id }), by collection, reused for the :id of later writes.
  const ids: { collection: string; id: string }[] = [];
  const idsFor = (route: RouteRecord) => {
    const collection = collectionOf(route.url);
    const own = ids.filter((entry) => entry.collection === collection);
    return [...own, ...ids.filter((entry) => entry.collection !== collection)].map((entry) => entry.id);
  };
  // A POST of the route's collection exists but handed out no id: making it succeed would serve this route too.
  const postable = (route: RouteRecord) => {
    const collection = collectionOf(route.url);
    return (
      routes.some((other) => other.method === 'POST' && collectionOf(other.url) === collection) &&
      !ids.some((entry) => entry.collection === collection)
    );
  };
  let succeeded = 0;
  for (const [index, route] of routes.entries()) {
    const given = (samples.get(routeKey(route.method, route.url)) ?? []).map(
      (sample, at): Attempt => ({
        body: sample.body ?? {},
        params: { ...sample.params },
        from: `writeSamples #${at + 1}`,
      }),
    );
    const generated = route.schema?.body
      ? fc.sample(arbitraryFromSchema(route.schema.body), { numRuns: ATTEMPTS, seed: seed + index })
      : Array.from({ length: ATTEMPTS }, () => ({}));
    const attempts: Attempt[] = [
      ...given,
      ...generated.map((body, at) => ({ body, params: {}, from: `seed ${seed}, attempt ${at + 1}` })),
    ];
    const known = idsFor(route);
    let done = false;
    let last: LightMyRequestResponse | undefined;
    for (const [attempt, { body, params, from }] of attempts.entries()) {
      const values: Record<string, string> = {};
      const id = known[attempt % Math.max(known.length, 1)];
      for (const name of paramNames(route.url)) if (id !== undefined) values[name] = id;
      Object.assign(values, params);
      const request: InjectOptions = {
        method: route.method as InjectOptions['method'],
        url: concreteUrl(route, values, attempt + 1),
        headers: keyHeaders(context),
      };
      if (BODY_METHODS.has(route.method)) {
        request.payload = JSON.stringify(body);
        request.headers = { ...request.headers, 'content-type': 'application/json' };
      }
      const before = (await read()).length;
      const response = await context.inject(request);
      last = response;
      if (response.statusCode < 200 || response.statusCode >= 300) continue;
      const after = (await read()).length;
      succeeded += 1;
      done = true;
      if (after <= before)
        context.fail(
          `audit: ${label(route)} answered ${response.statusCode} but wrote no audit record (${request.method} ${request.url}, body from ${from})`,
        );
      try {
        const answered = response.json() as { id?: unknown };
        if (typeof answered.id === 'string' || typeof answered.id === 'number')
          ids.push({ collection: collectionOf(route.url), id: String(answered.id) });
      } catch {
        // A write without a JSON body hands out no id.
      }
      break;
    }
    if (!done) {
      const tried = `${attempts.length} attempt(s)${given.length > 0 ? ` (${given.length} from writeSamples)` : ''}`;
      context.notChecked(
        `audit: ${label(route)} never answered 2xx in ${tried}, last ${last ? describe(last) : 'none'} (seed ${seed}): its audit record is unchecked; ${hint(route, postable(route))}`,
      );
    }
  }
  if (succeeded === 0)
    context.fail(
      `audit: none of ${routes.length} write route(s) answered 2xx in ${ATTEMPTS} attempts each (seed ${seed}): nothing proves writes are audited`,
    );
  else context.note(`${succeeded} successful write(s) checked`);
};
