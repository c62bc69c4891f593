import { type Check, concreteUrl, isProblem, jsonRequest, label, protectedRoutes } from '../check-context.ts';

const WRONG_KEY = 'rk_test_0000000000000000_00000000000000000000000000000000000000000';

/** Every route not declared public answers 401 problem+json without a key and with a wrong one. */
export const authCheck: Check = async (context) => {
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
};
