import { existsSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatChanges } from '../src/format.ts';
import type { Manifest, ManifestEntry } from '../src/manifest.ts';
import { assetPaths, describeService, renderAssets } from '../src/observability-assets.ts';
import { SERVICE_TEMPLATE_VERSION } from '../src/service-generator.ts';
import { createScratch, type Scratch } from './scratch.ts';

/** The command line that repeats a recorded run: every answer as its flag. */
function argsOf(entry: ManifestEntry): string[] {
  return [
    entry.generator,
    ...Object.entries(entry.answers).flatMap(([key, value]) => [`--${key}`, String(value)]),
  ];
}

/** drizzle-kit stamps each snapshot with a random id and each journal entry with a time: not drift. */
function normalized(path: string, content: string): string {
  if (!/\/migrations\/meta\/.*\.json$/.test(path)) return content;
  return content
    .replace(/"(id|prevId)": "[0-9a-f-]{36}"/g, '"$1": "<uuid>"')
    .replace(/"when": \d+/g, '"when": 0');
}

// apps/api is what `gen service api` renders from the recorded answers, plus each recorded task and
// resource run: a template edit that is not re-rendered into apps/api (or a hand edit of apps/api) fails.
describe('apps/api has not drifted from its templates', () => {
  let scratch: Scratch;
  beforeAll(() => {
    scratch = createScratch();
  });
  afterAll(() => scratch.remove());

  it('re-renders byte for byte from rampart.json', { timeout: 300_000 }, () => {
    const api = join(scratch.dir, 'apps/api');
    const manifest = JSON.parse(readFileSync(join(api, 'rampart.json'), 'utf8')) as Manifest;
    // node_modules is kept aside (pnpm's links), so later runs find drizzle-kit without a reinstall.
    const modules = join(scratch.dir, '.api-node_modules');
    if (existsSync(join(api, 'node_modules'))) renameSync(join(api, 'node_modules'), modules);
    rmSync(api, { recursive: true, force: true });

    const { applied = [], ...service } = manifest;
    const first = scratch.gen(...argsOf(service));
    expect(first.code, first.stderr).toBe(0);
    if (existsSync(modules)) renameSync(modules, join(api, 'node_modules'));
    for (const entry of applied) {
      const run = scratch.gen(...argsOf(entry));
      expect(run.code, `${argsOf(entry).join(' ')}\n${run.stderr}`).toBe(0);
    }

    const changed = scratch
      .run('git', ['status', '--porcelain', '--untracked-files=all', 'apps/api', 'deploy'])
      .output.split('\n')
      .filter(Boolean)
      .map((line) => ({ status: line.slice(0, 2).trim(), path: line.slice(3) }));
    const drifted = changed.filter(({ status, path }) => {
      if (status !== 'M') return true;
      const committed = scratch.run('git', ['show', `HEAD:${path}`]).output;
      return normalized(path, committed) !== normalized(path, readFileSync(join(scratch.dir, path), 'utf8'));
    });
    // ' D' = in apps/api, not rendered; '??' = rendered, not in apps/api; 'M' = different content.
    expect(drifted.map(({ status, path }) => `${status} ${path}`)).toEqual([]);
  });
});

// orders and inventory were made by `gen service` and then extended by hand, so they cannot re-render byte
// for byte; but every file the service template writes must still be there, and be the template's own
// unless the app extends it (listed here); their Grafana dashboard and Prometheus rules must be what their
// whole rampart.json renders. A template change that is not brought along to them fails, and
// so does a manifest whose templateVersion lags the template (an upgrade would re-apply what they have).
const EXTENDED: Record<string, readonly string[]> = {
  orders: [
    'deploy/k8s/base/config.env',
    'deploy/k8s/base/deployment-api.yaml',
    'deploy/k8s/base/deployment-worker.yaml',
    'deploy/k8s/base/network-policy.yaml',
    'migrations/meta/_journal.json',
    'package.json',
    'rampart.json',
    'src/app.ts',
    'src/env.test.ts',
    'src/env.ts',
    'src/errors.ts',
    'src/schema.ts',
    'src/tasks.ts',
    'src/worker.ts',
    'test/hardening.test.ts',
    'test/worker.test.ts',
  ],
  inventory: [
    'migrations/meta/_journal.json',
    'rampart.json',
    'src/app.ts',
    'src/errors.ts',
    'src/schema.ts',
    'test/hardening.test.ts',
  ],
};

/** Every file below `dir`, as a path relative to it with forward slashes. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)).split('\\').join('/'))
    .filter((path) => !path.startsWith('node_modules/'));
}

/**
 * The app's dashboard and rules as the generators render them from its whole manifest and the CLI formats
 * them, by path relative to the app.
 */
async function manifestAssets(root: string, app: string, manifest: Manifest): Promise<Map<string, string>> {
  const { applied = [], ...service } = manifest;
  const rendered = await renderAssets(describeService(app, [service, ...applied]));
  const paths = assetPaths(app);
  const formatted = formatChanges(root, [
    { path: paths.dashboard, content: rendered.dashboard, kind: 'create' },
    { path: paths.rules, content: rendered.rules, kind: 'create' },
  ]);
  return new Map(formatted.map((change) => [change.path.slice(`apps/${app}/`.length), change.content]));
}

describe('the extended example apps keep the service template they say they were made from', () => {
  let scratch: Scratch;
  beforeAll(() => {
    scratch = createScratch();
  });
  afterAll(() => scratch.remove());

  for (const [app, extended] of Object.entries(EXTENDED)) {
    it(`apps/${app}`, { timeout: 120_000 }, async () => {
      const dir = join(scratch.dir, 'apps', app);
      const manifest = JSON.parse(readFileSync(join(dir, 'rampart.json'), 'utf8')) as Manifest;
      expect(manifest.templateVersion, 'rampart.json templateVersion').toBe(SERVICE_TEMPLATE_VERSION);

      const kept = join(scratch.dir, `.kept-${app}`);
      renameSync(dir, kept);
      const { applied: _applied, ...service } = manifest;
      const run = scratch.gen(...argsOf(service));
      expect(run.code, run.stderr).toBe(0);

      // Their dashboard and rules are what the whole manifest renders (gen task and gen resource render them
      // again), not what gen service alone wrote.
      const assets = await manifestAssets(scratch.dir, app, manifest);
      const problems: string[] = [];
      const rendered = filesUnder(dir);
      for (const path of assets.keys()) if (!rendered.includes(path)) problems.push(`not rendered ${path}`);
      for (const path of rendered) {
        const want = assets.get(path) ?? readFileSync(join(dir, path), 'utf8');
        if (!existsSync(join(kept, path))) problems.push(`missing ${path}`);
        else if (
          !extended.includes(path) &&
          normalized(`/${path}`, want) !== normalized(`/${path}`, readFileSync(join(kept, path), 'utf8'))
        )
          problems.push(`differs ${path}`);
      }
      expect(problems).toEqual([]);
    });
  }
});
