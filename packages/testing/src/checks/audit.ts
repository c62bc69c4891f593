import fc from 'fast-check';
import type { InjectOptions } from 'fastify';
import {
  BODY_METHODS,
  type Check,
  checkedRoutes,
  concreteUrl,
  keyHeaders,
  label,
  WRITE_METHODS,
} from '../check-context.ts';
import { arbitraryFromSchema } from '../schema-arbitrary.ts';

const ATTEMPTS = 10;
const ORDER = ['POST', 'PUT', 'PATCH', 'DELETE'];

/** Every write that succeeds (2xx) adds at least one audit record. */
export const auditCheck: Check = async (context) => {
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
  // Ids the app handed out (e.g. a POST answering { id }), reused for the :id of later writes.
  const ids: string[] = [];
  let succeeded = 0;
  for (const [index, route] of routes.entries()) {
    const bodies = route.schema?.body
      ? fc.sample(arbitraryFromSchema(route.schema.body), {
          numRuns: ATTEMPTS,
          seed: context.options.seed + index,
        })
      : Array.from({ length: ATTEMPTS }, () => ({}));
    let done = false;
    for (const [attempt, body] of bodies.entries()) {
      const values: Record<string, string> = {};
      const id = ids[attempt % Math.max(ids.length, 1)];
      for (const match of route.url.matchAll(/:([A-Za-z0-9_]+)/g))
        if (id !== undefined && match[1]) values[match[1]] = id;
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
      if (response.statusCode < 200 || response.statusCode >= 300) continue;
      const after = (await read()).length;
      succeeded += 1;
      done = true;
      if (after <= before)
        context.fail(`audit: ${label(route)} answered ${response.statusCode} but wrote no audit record`);
      try {
        const answered = response.json() as { id?: unknown };
        if (typeof answered.id === 'string' || typeof answered.id === 'number') ids.push(String(answered.id));
      } catch {
        // A write without a JSON body hands out no id.
      }
      break;
    }
    if (!done) context.note(`${label(route)}: no 2xx in ${bodies.length} attempts`);
  }
  if (succeeded === 0)
    context.fail(
      `audit: none of ${routes.length} write route(s) answered 2xx in ${ATTEMPTS} attempts each: nothing proves writes are audited`,
    );
  else context.note(`${succeeded} successful write(s) checked`);
};
