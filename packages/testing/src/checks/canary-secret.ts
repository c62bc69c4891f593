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

/** The canary secret, sent as a key, token, cookie and body field, never reaches a log line, a span or an audit record. */
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

  const logText = context.logs.text();
  if (logText.trim() === '')
    context.fail(
      'canary-secret: nothing reached io.logStream: pass it to the logger, or this check proves nothing',
    );
  if (logText.includes(canary)) {
    const count = logText.split('\n').filter((line) => line.includes(canary)).length;
    context.fail(
      `canary-secret: the secret appeared in ${count} log line(s), after: ${where(logText, canary)}`,
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
