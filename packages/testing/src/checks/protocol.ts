import { gzipSync } from 'node:zlib';
import type { HTTPMethods, InjectOptions, LightMyRequestResponse } from 'fastify';
import {
  BODY_METHODS,
  type Check,
  type CheckContext,
  checkedRoutes,
  concreteUrl,
  isInfrastructure,
  isProblem,
  keyHeaders,
  label,
  problemCode,
  randomHex,
} from '../check-context.ts';
import type { RouteRecord } from '../route-table.ts';

/** Methods a wrong-method probe may use, in order of preference (PUT is the one services rarely serve). */
const PROBE_METHODS: readonly HTTPMethods[] = ['PUT', 'PATCH', 'DELETE', 'POST', 'GET'];
const SERVED_METHODS: readonly HTTPMethods[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

function served(context: CheckContext, url: string): HTTPMethods[] {
  return SERVED_METHODS.filter((method) => context.app.findRoute({ method, url }) !== null);
}

function request(
  context: CheckContext,
  method: string,
  url: string,
  extra: Partial<InjectOptions> = {},
): InjectOptions {
  const options: InjectOptions = {
    method: method as InjectOptions['method'],
    url,
    headers: { ...keyHeaders(context), ...(extra.headers as Record<string, string> | undefined) },
  };
  if (extra.payload !== undefined) options.payload = extra.payload;
  else if (BODY_METHODS.has(method)) {
    options.payload = '{}';
    options.headers = { ...options.headers, 'content-type': 'application/json' };
  }
  return options;
}

/** `status` problem+json with `code`, or a failure saying what came instead. */
function expect(
  context: CheckContext,
  what: string,
  response: LightMyRequestResponse,
  status: number,
  code: string,
): boolean {
  const found = problemCode(response);
  if (response.statusCode !== status) {
    context.fail(
      `protocol: ${what} answered ${response.statusCode}${found ? ` ${found}` : ''}, want ${status} ${code}`,
    );
    return false;
  }
  if (!isProblem(response)) {
    context.fail(`protocol: ${what} answered ${status} but not as application/problem+json`);
    return false;
  }
  if (found !== code) {
    context.fail(`protocol: ${what} answered ${status} ${found ?? 'without a code'}, want ${code}`);
    return false;
  }
  return true;
}

/** A wrong method on each route path: 405 with an Allow header naming the methods the path serves. */
async function wrongMethods(context: CheckContext, routes: readonly RouteRecord[]): Promise<number> {
  const byPath = new Map<string, RouteRecord>();
  for (const route of routes) if (!byPath.has(route.url)) byPath.set(route.url, route);
  let probed = 0;
  for (const [path, route] of byPath) {
    const url = concreteUrl(route);
    const accepted = served(context, url);
    const method = PROBE_METHODS.find((candidate) => !accepted.includes(candidate));
    if (!method) {
      context.note(`${path} serves every method: no wrong method to send`);
      continue;
    }
    probed += 1;
    const what = `${method} ${url} (a method ${path} does not serve, with a valid key)`;
    const response = await context.inject(request(context, method, url));
    if (!expect(context, what, response, 405, 'RAMPART_SECURITY_METHOD_NOT_ALLOWED')) continue;
    const allow = String(response.headers.allow ?? '')
      .split(',')
      .map((entry) => entry.trim().toUpperCase())
      .filter(Boolean);
    const declared = routes.filter((other) => other.url === path).map((other) => other.method);
    const missing = declared.filter((name) => !allow.includes(name));
    if (allow.length === 0) context.fail(`protocol: the 405 to ${what} has no Allow header`);
    else if (missing.length > 0 || allow.includes(method))
      context.fail(
        `protocol: the 405 to ${what} says Allow: ${allow.join(', ')}, but the path serves ${declared.join(', ')}`,
      );
  }
  return probed;
}

/** A path no route serves, at the root and under each route's first segment, with a valid key: 404. */
async function unknownPaths(context: CheckContext, routes: readonly RouteRecord[]): Promise<number> {
  const prefixes = new Set(['']);
  for (const route of routes) {
    const first = /^\/[^/:*]+/.exec(route.url)?.[0];
    if (first) prefixes.add(first);
  }
  let probed = 0;
  for (const prefix of prefixes) {
    let url = `${prefix}/hardening-${randomHex(4)}`;
    // Deep enough that no parametric route matches it (`/items/:id` would take `/items/x`).
    for (let depth = 0; depth < 4 && served(context, url).length > 0; depth += 1)
      url = `${url}/${randomHex(2)}`;
    if (served(context, url).length > 0) continue;
    probed += 1;
    const response = await context.inject(request(context, 'GET', url));
    expect(context, `GET ${url} (no route, with a valid key)`, response, 404, 'RAMPART_SECURITY_NOT_FOUND');
  }
  return probed;
}

/** On each body route: a gzip-encoded JSON body and a non-UTF-8 charset answer 415. */
async function encodedBodies(context: CheckContext, routes: readonly RouteRecord[]): Promise<number> {
  const bodyRoutes = routes.filter((route) => BODY_METHODS.has(route.method));
  for (const route of bodyRoutes) {
    const url = concreteUrl(route);
    const gzip = await context.inject(
      request(context, route.method, url, {
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
        payload: gzipSync('{"name":"hardening"}'),
      }),
    );
    if (
      expect(
        context,
        `${label(route)} with a gzip-encoded JSON body`,
        gzip,
        415,
        'RAMPART_SECURITY_CONTENT_ENCODING_UNSUPPORTED',
      ) &&
      gzip.headers['accept-encoding'] === undefined
    )
      context.fail(`protocol: the 415 to ${label(route)} with a gzip body has no Accept-Encoding header`);
    const latin1 = await context.inject(
      request(context, route.method, url, {
        headers: { 'content-type': 'application/json; charset=latin1' },
        payload: Buffer.from('{"name":"caf\u00e9"}', 'latin1'),
      }),
    );
    expect(
      context,
      `${label(route)} with a JSON body in charset=latin1`,
      latin1,
      415,
      'RAMPART_SECURITY_MEDIA_TYPE_UNSUPPORTED',
    );
  }
  return bodyRoutes.length;
}

/**
 * What the security plugins answer for requests no route should take, checked on the service itself (a
 * service's own not-found handler or JSON parser would replace them unnoticed): with a valid key, a wrong
 * method gets 405 with Allow, an unknown path 404, a gzip body or a non-UTF-8 charset 415, all problem+json.
 */
export const protocolCheck: Check = async (context) => {
  const routes = checkedRoutes(context).filter((route) => !isInfrastructure(context, route));
  if (routes.length === 0) {
    context.fail('protocol: the route table holds no service route to probe');
    return;
  }
  const methods = await wrongMethods(context, routes);
  const paths = await unknownPaths(context, routes);
  const bodies = await encodedBodies(context, routes);
  context.note(`${methods} wrong-method probe(s), ${paths} unknown path(s), ${bodies} body route(s) probed`);
};
