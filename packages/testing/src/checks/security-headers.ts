import type { LightMyRequestResponse } from 'fastify';
import {
  type Check,
  concreteUrl,
  jsonRequest,
  keyHeaders,
  protectedRoutes,
  randomHex,
} from '../check-context.ts';

/** Each required header and what its value must look like. */
const REQUIRED: readonly [string, (value: string) => boolean][] = [
  ['strict-transport-security', (value) => /max-age=\d+/.test(value)],
  ['x-content-type-options', (value) => value === 'nosniff'],
  ['content-security-policy', (value) => value.includes("frame-ancestors 'none'")],
  ['x-frame-options', (value) => value.toUpperCase() === 'DENY'],
  ['referrer-policy', (value) => value.length > 0],
  // API answers are per caller: no shared cache may keep one (a keyed answer served to the next client).
  ['cache-control', (value) => /\bno-store\b/i.test(value)],
];

/** What is wrong with one response's headers, or an empty list. */
export function headerProblems(response: LightMyRequestResponse): string[] {
  const problems: string[] = [];
  for (const [name, valid] of REQUIRED) {
    const value = response.headers[name];
    if (value === undefined) problems.push(`${name} missing`);
    else if (!valid(String(value))) problems.push(`${name} is ${JSON.stringify(value)}`);
  }
  return problems;
}

/** Security headers on a 2xx, on 4xx (401, unknown path) and on a 5xx (readiness while shutting down). */
export const securityHeadersCheck: Check = async (context) => {
  const samples: { what: string; response: LightMyRequestResponse }[] = [];
  const { livenessPath, readinessPath } = context.options;
  const route = protectedRoutes(context).find((candidate) => candidate.method === 'GET');
  for (const url of [livenessPath, readinessPath]) {
    samples.push({ what: `GET ${url}`, response: await context.inject({ url }) });
  }
  if (route) {
    const url = concreteUrl(route);
    samples.push({
      what: `GET ${url} with a key`,
      response: await context.inject(jsonRequest(route, url, keyHeaders(context))),
    });
    samples.push({ what: `GET ${url} without a key`, response: await context.inject({ url }) });
  }
  const unknown = `/hardening-${randomHex(6)}`;
  samples.push({ what: `GET ${unknown}`, response: await context.inject({ url: unknown }) });
  if (context.target.beginShutdown) {
    await context.target.beginShutdown();
    samples.push({
      what: `GET ${readinessPath} while shutting down`,
      response: await context.inject({ url: readinessPath }),
    });
  }

  const seen = new Set<string>();
  for (const { what, response } of samples) {
    const status = response.statusCode;
    const family =
      status >= 500 ? '5xx' : status >= 400 ? '4xx' : status >= 200 && status < 300 ? '2xx' : 'other';
    seen.add(family);
    const problems = headerProblems(response);
    if (problems.length > 0) context.fail(`security-headers: ${status} on ${what}: ${problems.join(', ')}`);
  }
  for (const family of ['2xx', '4xx', '5xx']) {
    if (!seen.has(family))
      context.fail(
        `security-headers: no ${family} response to check${family === '5xx' ? ' (readiness must answer 503 after beginShutdown)' : ''}`,
      );
  }
};
