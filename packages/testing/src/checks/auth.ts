import {
  type Check,
  type CheckContext,
  checkedRoutes,
  concreteUrl,
  isInfrastructure,
  isProblem,
  jsonRequest,
  label,
  listed,
  protectedRoutes,
  scopesOf,
  WRITE_METHODS,
} from '../check-context.ts';
import type { LimitedApiKey } from '../options.ts';

const WRONG_KEY = 'rk_test_0000000000000000_00000000000000000000000000000000000000000';

/**
 * What the route table declares: no write route is `auth: 'public'` and no route takes any valid key
 * (`scopes: []`), unless the service lists it (publicWriteRoutes, anyKeyRoutes).
 */
function checkDeclarations(context: CheckContext): void {
  const { publicWriteRoutes, anyKeyRoutes } = context.options;
  for (const route of checkedRoutes(context)) {
    if (isInfrastructure(context, route)) continue;
    if (route.config.auth === 'public') {
      if (WRITE_METHODS.has(route.method) && !listed(publicWriteRoutes, route))
        context.fail(
          `auth: ${label(route)} is a write route declared auth: 'public': anyone may call it without a key; declare its scopes, or list it in publicWriteRoutes if anonymous writes are intended`,
        );
      continue;
    }
    const scopes = scopesOf(route);
    if (scopes !== undefined && scopes.length === 0 && !listed(anyKeyRoutes, route))
      context.fail(
        `auth: ${label(route)} declares auth: { scopes: [] }: any valid key may call it${WRITE_METHODS.has(route.method) ? ', a read-only key included' : ''}; declare the scope it needs, or list it in anyKeyRoutes`,
      );
  }
}

/** With a key lacking some scope: 403 problem+json where a scope is missing, never 401/403 where none is. */
async function checkScopes(context: CheckContext, limited: LimitedApiKey): Promise<void> {
  let refused = 0;
  for (const route of protectedRoutes(context)) {
    const scopes = scopesOf(route);
    if (scopes === undefined) continue;
    const missing = scopes.filter((scope) => !limited.scopes.includes(scope));
    const response = await context.inject(
      jsonRequest(route, concreteUrl(route), { 'x-api-key': limited.key }),
    );
    const status = response.statusCode;
    if (missing.length > 0) {
      refused += 1;
      if (status !== 403)
        context.fail(
          `auth: ${label(route)} answered ${status} to limitedApiKey, which lacks ${missing.join(', ')}, want 403: the scope is not enforced`,
        );
      else if (!isProblem(response))
        context.fail(
          `auth: ${label(route)} answered 403 to limitedApiKey but not as application/problem+json`,
        );
    } else if (status === 401 || status === 403) {
      context.fail(
        `auth: ${label(route)} answered ${status} to limitedApiKey, which holds every scope it declares (${scopes.join(', ') || 'none'}): it demands more than config.auth says`,
      );
    }
  }
  if (refused === 0)
    context.fail(
      `auth: limitedApiKey holds every scope the routes declare (${limited.scopes.join(', ')}): give it fewer (e.g. only the read scopes), or it proves nothing`,
    );
  else context.note(`${refused} route(s) refused limitedApiKey with 403`);
}

/**
 * Every route not declared public answers 401 problem+json without a key and with a wrong one; no write is
 * public and no route takes any key unless listed; with `limitedApiKey`, a missing scope answers 403.
 */
export const authCheck: Check = async (context) => {
  checkDeclarations(context);
  const routes = protectedRoutes(context);
  if (routes.length === 0) {
    context.fail('the route table holds no protected route: nothing proves that keys are enforced');
    return;
  }
  let probe = 1 << 16;
  for (const route of routes) {
    const url = concreteUrl(route);
    const undeclared = route.config.auth === undefined ? ' (the route declares no config.auth)' : '';
    for (const [what, headers] of [
      ['without an API key', {}],
      ['with a wrong API key', { 'x-api-key': WRONG_KEY }],
    ] as const) {
      // Each probe from its own address: a failed-auth limit per address would otherwise answer 429.
      probe += 1;
      const remoteAddress = `127.${(probe >> 16) & 255}.${(probe >> 8) & 255}.${probe & 255}`;
      const response = await context.inject({ ...jsonRequest(route, url, headers), remoteAddress });
      if (response.statusCode !== 401) {
        context.fail(`auth: ${label(route)} answered ${response.statusCode} ${what}, want 401${undeclared}`);
        break;
      }
      if (!isProblem(response)) {
        context.fail(`auth: ${label(route)} answered 401 ${what} but not as application/problem+json`);
        break;
      }
    }
  }
  context.note(`${routes.length} protected route(s) checked`);
  const limited = context.target.limitedApiKey;
  if (limited) await checkScopes(context, limited);
  else
    context.notChecked(
      'auth: scopes: no route was sent a key lacking its scope, so a route whose scope is not enforced passes; return limitedApiKey: { key, scopes } (e.g. a read-only key) from the build function',
    );
};
