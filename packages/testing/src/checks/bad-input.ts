import type { InjectOptions } from 'fastify';
import {
  BODY_METHODS,
  type Check,
  checkedRoutes,
  concreteUrl,
  isProblem,
  keyHeaders,
  label,
} from '../check-context.ts';

const FASTIFY_BODY_LIMIT = 1_048_576;

/** Malformed JSON, a body over the limit and prototype-poisoning payloads get 4xx problem+json, never 5xx. */
export const badInputCheck: Check = async (context) => {
  const routes = checkedRoutes(context).filter((route) => BODY_METHODS.has(route.method));
  if (routes.length === 0) {
    context.note('no route takes a body');
    return;
  }
  const appLimit = (context.app.initialConfig as { bodyLimit?: number }).bodyLimit ?? FASTIFY_BODY_LIMIT;
  for (const route of routes) {
    const limit = route.bodyLimit ?? appLimit;
    const cases: [string, string][] = [
      ['malformed JSON', '{"name": '],
      ['a body over the limit', JSON.stringify({ pad: 'x'.repeat(limit) })],
      ['a __proto__ payload', '{"__proto__": {"hardeningPolluted": true}, "name": "x"}'],
      ['a constructor.prototype payload', '{"constructor": {"prototype": {"hardeningPolluted": true}}}'],
    ];
    for (const [what, payload] of cases) {
      const request: InjectOptions = {
        method: route.method as InjectOptions['method'],
        url: concreteUrl(route),
        headers: { ...keyHeaders(context), 'content-type': 'application/json' },
        payload,
      };
      const response = await context.inject(request);
      if (response.statusCode < 400 || response.statusCode >= 500)
        context.fail(`bad-input: ${label(route)} answered ${response.statusCode} to ${what}, want 4xx`);
      else if (!isProblem(response))
        context.fail(
          `bad-input: ${label(route)} answered ${response.statusCode} to ${what} but not as problem+json`,
        );
      if (({} as Record<string, unknown>).hardeningPolluted !== undefined)
        context.fail(`bad-input: ${what} to ${label(route)} polluted Object.prototype`);
    }
  }
};
