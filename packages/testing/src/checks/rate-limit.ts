import type { LightMyRequestResponse } from 'fastify';
import {
  type Check,
  concreteUrl,
  isProblem,
  jsonRequest,
  keyHeaders,
  label,
  protectedRoutes,
} from '../check-context.ts';

function header(response: LightMyRequestResponse, name: string): string | undefined {
  const value = response.headers[name] ?? response.headers[`x-${name}`];
  return value === undefined ? undefined : String(value);
}

/** With a valid key, a protected route answers 429 problem+json with Retry-After and RateLimit headers after its limit. */
export const rateLimitCheck: Check = async (context) => {
  const candidates = protectedRoutes(context);
  const route =
    candidates.find((candidate) => candidate.method === 'GET' && !candidate.url.includes(':')) ??
    candidates[0];
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
  context.note(`${label(route)}: 429 after ${sent} requests (limit ${limit})`);
};
