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

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The sample lines of a Prometheus text exposition (`name{label="v",...} value`), comments left out. */
function parseSamples(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const match = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match?.[1]) continue;
    const labels: Record<string, string> = {};
    for (const [, name, value] of (match[2] ?? '').matchAll(/([A-Za-z_]\w*)="((?:[^"\\]|\\.)*)"/g))
      if (name !== undefined) labels[name] = value ?? '';
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

/** The sum of a metric's samples for one method and route template (either spelling of a prefix root). */
function total(samples: readonly Sample[], name: string, method: string, routes: readonly string[]): number {
  return samples
    .filter(
      (sample) =>
        sample.name === name &&
        sample.labels.method === method &&
        routes.includes(sample.labels.route ?? '') &&
        (name.endsWith('_bucket') ? sample.labels.le === '+Inf' : true),
    )
    .reduce((sum, sample) => sum + (Number.isFinite(sample.value) ? sample.value : 0), 0);
}

/**
 * RED metrics with real samples: each route the check calls adds to the request counter and to the
 * duration histogram (its count and +Inf bucket), labelled by route template; unknown paths add no series.
 */
export const metricsCheck: Check = async (context) => {
  const { metricsPath, metricsHeaders, randomPaths } = context.options;
  const scrape = async () => {
    const response = await context.inject({ url: metricsPath, headers: metricsHeaders });
    return { status: response.statusCode, text: response.body };
  };
  const initial = await scrape();
  if (initial.status !== 200) {
    context.fail(
      `metrics: GET ${metricsPath} answered ${initial.status}: is the observability plugin registered?`,
    );
    return;
  }
  const routes = checkedRoutes(context).filter((route) => route.url !== metricsPath);
  const sent: { method: string; route: string; url: string }[] = [];
  for (const route of routes) {
    const url = concreteUrl(route, {}, 7);
    // With the key: keyless probes would trip a failed-auth limit before the scrape.
    await context.inject(jsonRequest(route, url, keyHeaders(context)));
    sent.push({ method: route.method, route: route.url, url: url.split('?')[0] ?? url });
  }
  const before = await scrape();
  const start = parseSamples(initial.text);
  const samples = parseSamples(before.text);
  for (const name of [REQUESTS, `${DURATION}_bucket`, `${DURATION}_count`]) {
    if (!samples.some((sample) => sample.name === name))
      context.fail(
        `metrics: ${metricsPath} has no ${name} sample line${before.text.includes(name.replace(/_(bucket|count)$/, '')) ? ' (only its # HELP / # TYPE lines)' : ''}`,
      );
  }
  for (const { method, route, url } of sent) {
    // A prefixed plugin's '/' route is served at '/items' and '/items/': either spelling is the template.
    const template = route.length > 1 ? route.replace(/\/$/, '') : route;
    const spellings = [route, template];
    if (!before.text.includes(`route="${route}"`) && !before.text.includes(`route="${template}"`))
      context.fail(`metrics: no series with route="${route}" after a request to ${url}`);
    else
      for (const [name, what] of [
        [REQUESTS, 'counted no request'],
        [`${DURATION}_count`, 'observed no duration'],
        [`${DURATION}_bucket`, 'put no observation in its +Inf bucket'],
      ] as const) {
        if (total(samples, name, method, spellings) <= total(start, name, method, spellings))
          context.fail(`metrics: ${name} ${what} for ${method} ${route} after a request to ${url}`);
      }
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
  if (after.text.includes(marker))
    context.fail(`metrics: a random path appears in the metrics text (seed ${context.options.seed})`);
  context.note(
    `${sent.length} route(s) seen by template; ${baseline.size} series before and ${baseline.size + added.length} after ${randomPaths} random paths`,
  );
};
