import type { LightMyRequestResponse } from 'fastify';
import {
  type Check,
  type CheckContext,
  checkedRoutes,
  concreteUrl,
  isInfrastructure,
  isProblem,
  jsonRequest,
  keyHeaders,
  label,
  listed,
  protectedRoutes,
} from '../check-context.ts';
import type { RouteRecord } from '../route-table.ts';

function header(response: LightMyRequestResponse, name: string): string | undefined {
  const value = response.headers[name] ?? response.headers[`x-${name}`];
  return value === undefined ? undefined : String(value);
}

/**
 * Every route but infrastructure paths and those in rateLimitExempt is rate limited: none opts out with
 * `config.rateLimit: false`, and one request to each (keyed where it needs a key) carries RateLimit-Limit.
 */
async function checkEveryRoute(context: CheckContext): Promise<RouteRecord[]> {
  const { rateLimitExempt } = context.options;
  const limited: RouteRecord[] = [];
  for (const route of checkedRoutes(context)) {
    if (isInfrastructure(context, route)) continue;
    const exempt = listed(rateLimitExempt, route);
    if (route.config.rateLimit === false) {
      if (!exempt)
        context.fail(
          `rate-limit: ${label(route)} opts out with config.rateLimit: false: one client may call it without limit; remove it, or list the route in rateLimitExempt if that is intended`,
        );
      continue;
    }
    if (exempt) continue;
    const headers = route.config.auth === 'public' ? {} : keyHeaders(context);
    const response = await context.inject(jsonRequest(route, concreteUrl(route), headers));
    if (header(response, 'ratelimit-limit') === undefined)
      context.fail(
        `rate-limit: ${label(route)} answered ${response.statusCode} without a RateLimit-Limit header: no rate limit applies to it (registered before the rate-limit plugin?); list it in rateLimitExempt if that is intended`,
      );
    else limited.push(route);
  }
  return limited;
}

/**
 * Every route carries RateLimit headers, and with a valid key a protected route answers 429 problem+json
 * with Retry-After and RateLimit headers after its limit.
 */
export const rateLimitCheck: Check = async (context) => {
  const limitedRoutes = await checkEveryRoute(context);
  const candidates = protectedRoutes(context).filter((route) => limitedRoutes.includes(route));
  const fallback = protectedRoutes(context).filter(
    (route) => !listed(context.options.rateLimitExempt, route),
  );
  const route =
    candidates.find((candidate) => candidate.method === 'GET' && !candidate.url.includes(':')) ??
    candidates[0] ??
    fallback[0];
  if (!route) {
    context.fail('rate-limit: no protected route to send requests to');
    return;
  }
  const request = jsonRequest(route, concreteUrl(route), keyHeaders(context));
  const first = await context.inject(request);
  const limit = Number(header(first, 'ratelimit-limit'));
  if (!Number.isInteger(limit) || limit <= 0) {
    context.fail(
      `rate-limit: ${label(route)} answered ${first.statusCode} without a RateLimit-Limit header: is the rate limit registered?`,
    );
  }
  const budget = Math.min(
    context.options.maxRateLimitRequests,
    Number.isInteger(limit) && limit > 0 ? limit + 1 : Infinity,
  );
  let limited: LightMyRequestResponse | undefined = first.statusCode === 429 ? first : undefined;
  let sent = 1;
  while (!limited && sent < budget) {
    const response = await context.inject(request);
    sent += 1;
    if (response.statusCode === 429) limited = response;
  }
  if (!limited) {
    context.fail(
      `rate-limit: ${label(route)} never answered 429 in ${sent} requests with one key: no rate limit applies`,
    );
    return;
  }
  if (!isProblem(limited))
    context.fail(`rate-limit: the 429 from ${label(route)} is not application/problem+json`);
  const retryAfter = Number(limited.headers['retry-after']);
  if (!Number.isFinite(retryAfter) || retryAfter < 0)
    context.fail(`rate-limit: the 429 from ${label(route)} has no valid Retry-After header`);
  for (const name of ['ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset']) {
    if (header(limited, name) === undefined)
      context.fail(`rate-limit: the 429 from ${label(route)} lacks the ${name} header`);
  }
  context.note(
    `${limitedRoutes.length} route(s) carry RateLimit headers; ${label(route)}: 429 after ${sent} requests (limit ${limit})`,
  );
};
