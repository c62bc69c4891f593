import {
  BODY_METHODS,
  type Check,
  checkedRoutes,
  concreteUrl,
  jsonRequest,
  keyHeaders,
  randomHex,
} from '../check-context.ts';

function where(text: string, canary: string): string {
  const at = text.indexOf(canary);
  return text.slice(Math.max(0, at - 80), at).replaceAll('\n', ' ');
}

/** The message of the line the check logs itself, through the app's logger. */
const NESTED_LINE = 'hardening: a logged object holding the canary';

/**
 * The canary secret, sent as a key, token, cookie and body field, never reaches a log line, a span or an
 * audit record; and the app's logger censors it deep inside an object a handler logs (a request body, a
 * client's options), where pino's paths do not reach.
 */
export const canarySecretCheck: Check = async (context) => {
  const { canary } = context;
  const routes = checkedRoutes(context);
  const secretHeaders: Record<string, string>[] = [
    { 'x-api-key': canary },
    { authorization: `Bearer ${canary}` },
    // x-api-key wins over Authorization, so the handler runs with the canary still in the request.
    { ...keyHeaders(context), authorization: `Bearer ${canary}`, cookie: `session=${canary}` },
  ];
  for (const route of routes) {
    const url = concreteUrl(route);
    const payload = BODY_METHODS.has(route.method)
      ? JSON.stringify({ password: canary, token: canary, secret: canary, apiKey: canary })
      : undefined;
    for (const headers of secretHeaders) await context.inject(jsonRequest(route, url, headers, payload));
  }
  await context.inject({ url: `/hardening-${randomHex(4)}?api_key=${canary}` });
  await context.inject({
    url: `/hardening-${randomHex(4)}`,
    headers: { authorization: `Bearer ${canary}` },
  });

  // What a handler writes when it logs what it was sent or what it is about to send: secret names in several
  // spellings, two and three levels down, in an array.
  context.app.log.info(
    {
      hardening: {
        body: { user: { name: 'ann', password: canary }, items: [{ sku: 'a', apiKey: canary }] },
        client: { options: { headers: { Authorization: `Bearer ${canary}` }, Access_Token: canary } },
      },
    },
    NESTED_LINE,
  );

  const logText = context.logs.text();
  if (logText.trim() === '')
    context.fail(
      'canary-secret: nothing reached io.logStream: pass it to the logger, or this check proves nothing',
    );
  const leaking = logText.split('\n').filter((line) => line.includes(canary));
  const nested = leaking.filter((line) => line.includes(NESTED_LINE));
  if (nested.length > 0) {
    context.fail(
      `canary-secret: an object logged with the secret nested in it was written with the secret, after: ${where(nested.join('\n'), canary)}` +
        ' (pino paths reach only as deep as they are written: give createLogger redactValue: redactSecrets, e.g. ...logRedaction() from @rampart/security)',
    );
  }
  if (leaking.length > nested.length) {
    const others = leaking.filter((line) => !line.includes(NESTED_LINE)).join('\n');
    context.fail(
      `canary-secret: the secret appeared in ${leaking.length - nested.length} log line(s), after: ${where(others, canary)}`,
    );
  }
  if (context.target.spans) {
    const spans = JSON.stringify(
      context.target
        .spans()
        .map((span) => ({ name: span.name, attributes: span.attributes, events: span.events })),
    );
    if (spans.includes(canary))
      context.fail(`canary-secret: the secret appeared in a span, after: ${where(spans, canary)}`);
  } else {
    context.note('no spans() reader: spans not searched');
  }
  if (context.target.auditRecords) {
    const records = JSON.stringify(await context.target.auditRecords());
    if (records.includes(canary))
      context.fail(`canary-secret: the secret appeared in an audit record, after: ${where(records, canary)}`);
  }
};
