import type { InjectOptions } from 'fastify';
import {
  BODY_METHODS,
  type Check,
  checkedRoutes,
  concreteUrl,
  isProblem,
  keyHeaders,
  label,
  problemCode,
} from '../check-context.ts';

const FASTIFY_BODY_LIMIT = 1_048_576;

/**
 * Malformed JSON (400), a body over the limit (413) and prototype-poisoning payloads (400, refused by the
 * JSON parser itself) get problem+json with @rampart/security's code, never a 5xx and never a verdict of
 * schema validation: a parser that lets `__proto__` through to the schema would pass the rest.
 */
export const badInputCheck: Check = async (context) => {
  const routes = checkedRoutes(context).filter((route) => BODY_METHODS.has(route.method));
  if (routes.length === 0) {
    context.note('no route takes a body');
    return;
  }
  const appLimit = (context.app.initialConfig as { bodyLimit?: number }).bodyLimit ?? FASTIFY_BODY_LIMIT;
  for (const route of routes) {
    const limit = route.bodyLimit ?? appLimit;
    const cases: [string, string, number, string][] = [
      ['malformed JSON', '{"name": ', 400, 'RAMPART_SECURITY_BODY_MALFORMED'],
      [
        'a body over the limit',
        JSON.stringify({ pad: 'x'.repeat(limit) }),
        413,
        'RAMPART_SECURITY_BODY_TOO_LARGE',
      ],
      [
        'a __proto__ payload',
        '{"__proto__": {"hardeningPolluted": true}, "name": "x"}',
        400,
        'RAMPART_SECURITY_PROTOTYPE_POISONING',
      ],
      [
        'a constructor.prototype payload',
        '{"constructor": {"prototype": {"hardeningPolluted": true}}}',
        400,
        'RAMPART_SECURITY_PROTOTYPE_POISONING',
      ],
    ];
    for (const [what, payload, status, code] of cases) {
      const request: InjectOptions = {
        method: route.method as InjectOptions['method'],
        url: concreteUrl(route),
        headers: { ...keyHeaders(context), 'content-type': 'application/json' },
        payload,
      };
      const response = await context.inject(request);
      const found = problemCode(response);
      if (response.statusCode !== status)
        context.fail(
          `bad-input: ${label(route)} answered ${response.statusCode}${found ? ` ${found}` : ''} to ${what}, want ${status} ${code}`,
        );
      else if (!isProblem(response))
        context.fail(
          `bad-input: ${label(route)} answered ${response.statusCode} to ${what} but not as problem+json`,
        );
      else if (found !== code)
        context.fail(
          `bad-input: ${label(route)} answered ${status} ${found ?? 'without a code'} to ${what}, want ${code}${code.endsWith('POISONING') ? ': the JSON parser no longer refuses it, only a later check does' : ''}`,
        );
    }
  }
};
