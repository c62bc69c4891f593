import {
  type Check,
  checkedRoutes,
  concreteUrl,
  jsonRequest,
  keyHeaders,
  randomHex,
} from '../check-context.ts';
import { seededHex } from '../seeded-hex.ts';

const REQUESTS = 'http_server_requests_total';
const DURATION = 'http_server_request_duration_seconds';
// Node's default metrics (GC kinds, handles) may add series under load; they do not come from requests.
const PROCESS_SERIES = /^(?:nodejs_|process_)/;

function series(text: string): Set<string> {
  const found = new Set<string>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#') || PROCESS_SERIES.test(line)) continue;
    // status_class is bounded by construction (five values); shed or failed answers may add one.
    found.add(line.slice(0, line.lastIndexOf(' ')).replace(/,?status_class="[^"]*"/, ''));
  }
  return found;
}

/** RED metrics labelled by route template, and unknown paths that add no series. */
export const metricsCheck: Check = async (context) => {
  const { metricsPath, metricsHeaders, randomPaths } = context.options;
  const scrape = async () => {
    const response = await context.inject({ url: metricsPath, headers: metricsHeaders });
    return { status: response.statusCode, text: response.body };
  };
  const routes = checkedRoutes(context).filter((route) => route.url !== metricsPath);
  const sent: { route: string; url: string }[] = [];
  for (const route of routes) {
    const url = concreteUrl(route, {}, 7);
    // With the key: keyless probes would trip a failed-auth limit before the scrape.
    await context.inject(jsonRequest(route, url, keyHeaders(context)));
    sent.push({ route: route.url, url: url.split('?')[0] ?? url });
  }
  const before = await scrape();
  if (before.status !== 200) {
    context.fail(
      `metrics: GET ${metricsPath} answered ${before.status}: is the observability plugin registered?`,
    );
    return;
  }
  for (const name of [REQUESTS, DURATION]) {
    if (!before.text.includes(`${name}`)) context.fail(`metrics: ${metricsPath} has no ${name} series`);
  }
  for (const { route, url } of sent) {
    // A prefixed plugin's '/' route is served at '/items' and '/items/': either spelling is the template.
    const template = route.length > 1 ? route.replace(/\/$/, '') : route;
    if (!before.text.includes(`route="${route}"`) && !before.text.includes(`route="${template}"`))
      context.fail(`metrics: no series with route="${route}" after a request to ${url}`);
    if (url !== route && before.text.includes(`"${url}"`))
      context.fail(`metrics: the raw path ${url} appears as a label value (want the template ${route})`);
  }

  // Warm up every status class an unknown path can produce, then count.
  const methods = ['GET', 'POST', 'DELETE'] as const;
  for (const method of methods) await context.app.inject({ method, url: `/hardening-warm-${randomHex(4)}` });
  const baseline = series((await scrape()).text);
  // A marker of this run's own, then paths from the seed: the same seed sends the same paths.
  const marker = `hz${randomHex(4)}`;
  const hex = seededHex(context.options.seed);
  for (let index = 0; index < randomPaths; index += 1) {
    const method = methods[index % methods.length] ?? 'GET';
    await context.app.inject({ method, url: `/${marker}-${index}/${hex(6)}?q=${index}` });
  }
  const after = await scrape();
  const added = [...series(after.text)].filter((line) => !baseline.has(line));
  if (added.length > 0)
    context.fail(
      `metrics: ${randomPaths} random paths added ${added.length} series, e.g. ${added.slice(0, 3).join(' ; ')} (seed ${context.options.seed})`,
    );
  if (after.text.includes(marker)) context.fail('metrics: a random path appears in the metrics text');
  context.note(
    `${sent.length} route(s) seen by template; ${baseline.size} series before and ${baseline.size + added.length} after ${randomPaths} random paths`,
  );
};
