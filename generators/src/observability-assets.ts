import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GenError } from './errors.ts';
import { formatChanges } from './format.ts';
import { type ManifestEntry, manifestPath, readManifest } from './manifest.ts';
import type { FileChange } from './staged-write.ts';
import type { Workspace } from './workspace.ts';

/**
 * A service as its Grafana dashboard and Prometheus rules see it (@rampart/observability's
 * ServiceDescription): the routes and tasks the generators gave it, in the order they were generated.
 */
export interface ObservedService {
  service: string;
  routes: Array<{ method: string; route: string }>;
  tasks: string[];
}

/**
 * The routes of a CRUD resource registered at `/<name>`: the service template's first resource (items,
 * src/items/routes.ts) and every `gen resource` one (templates/resource, routes.ts registered with
 * `prefix: '/<name>'`) serve these five; src/observability-assets.test.ts holds both templates to them.
 * Health and /metrics are not listed: they are not alerted on.
 */
export function resourceRoutes(name: string): Array<{ method: string; route: string }> {
  return [
    { method: 'GET', route: `/${name}` },
    { method: 'GET', route: `/${name}/:id` },
    { method: 'POST', route: `/${name}` },
    { method: 'PATCH', route: `/${name}/:id` },
    { method: 'DELETE', route: `/${name}/:id` },
  ];
}

/** The resource every generated service starts with (templates/service, src/items). */
export const FIRST_RESOURCE = 'items';

const TEMPLATE_TASKS = fileURLToPath(
  new URL('../templates/service/apps/{{name}}/src/tasks.ts', import.meta.url),
);

/**
 * The tasks every generated service starts with: the names the service template's src/tasks.ts gives
 * `defineTask` (`audit.verify`), in the file's order.
 */
export function templateTasks(): string[] {
  const source = readFileSync(TEMPLATE_TASKS, 'utf8');
  const names = [...source.matchAll(/\bdefineTask\(\{\s*name:\s*'([^'\\]+)'/g)].map((match) => match[1]!);
  if (names.length === 0) {
    // A template change this code does not follow: a generator bug, not a user mistake.
    throw new Error(`${TEMPLATE_TASKS} has no defineTask({ name: '...' }) this generator can read`);
  }
  return names;
}

/**
 * What the generators know about a service from its manifest: `entries` is the `gen service` run, then
 * every applied `gen task` / `gen resource` run in order. The service template's routes and tasks come
 * first, then each task and each resource's routes as they were added; other generators add neither.
 */
export function describeService(service: string, entries: readonly ManifestEntry[]): ObservedService {
  const described: ObservedService = { service, routes: [], tasks: [] };
  for (const [index, entry] of entries.entries()) {
    if (entry.generator === 'service') {
      described.routes.push(...resourceRoutes(FIRST_RESOURCE));
      described.tasks.push(...templateTasks());
      continue;
    }
    if (entry.generator !== 'task' && entry.generator !== 'resource') continue;
    const name = entry.answers?.name;
    if (typeof name !== 'string' || name === '') {
      throw new GenError(
        'RAMPART_GEN_INVALID_ANSWER',
        `${manifestPath(service)}: its ${entry.generator} run (entry ${index} of the service and its applied runs) has no answers.name; nothing was written`,
      );
    }
    if (entry.generator === 'task') described.tasks.push(name);
    else described.routes.push(...resourceRoutes(name));
  }
  return described;
}

/** Where `gen service` puts the service's dashboard and rules. */
export function assetPaths(service: string): { dashboard: string; rules: string } {
  return {
    dashboard: `apps/${service}/deploy/grafana/${service}.json`,
    rules: `apps/${service}/deploy/prometheus/${service}.rules.yml`,
  };
}

/**
 * The dashboard and the rules @rampart/observability generates for `description`, as the generators hand
 * them to Biome (the CLI formats every generated file before writing it; see format.ts).
 */
export async function renderAssets(
  description: ObservedService,
): Promise<{ dashboard: string; rules: string }> {
  // Loaded here, not at the top: the other generators (init above all) must run without the packages built.
  const { generateAlertRules, generateDashboard, toYaml } = await import('@rampart/observability');
  try {
    return {
      dashboard: `${JSON.stringify(generateDashboard(description), null, 2)}\n`,
      rules: toYaml(generateAlertRules(description) as unknown as Parameters<typeof toYaml>[0]),
    };
  } catch (error) {
    throw new GenError(
      'RAMPART_GEN_INVALID_ANSWER',
      `${manifestPath(description.service)} describes a service @rampart/observability cannot render (${(error as Error).message}); nothing was written`,
      { cause: error },
    );
  }
}

/** `gen service`: the new service's dashboard and rules, for the service template's routes and tasks. */
export async function createAssets(service: string, entry: ManifestEntry): Promise<FileChange[]> {
  const rendered = await renderAssets(describeService(service, [entry]));
  const paths = assetPaths(service);
  return [
    { path: paths.dashboard, content: rendered.dashboard, kind: 'create' },
    { path: paths.rules, content: rendered.rules, kind: 'create' },
  ];
}

/**
 * `gen task` and `gen resource`: both files rendered again from the service's rampart.json with `entry`
 * (the run being applied) appended, as changes of the same plan.
 *
 * A file is only replaced when it holds what a generator wrote: what the manifest renders before this run,
 * or what `gen service` wrote before the generators kept these files up to date (the first resource's
 * routes, no tasks), each as Biome formats it. Anything else was edited by hand (or an older
 * @rampart/observability rendered it) and is not overwritten: the run fails with RAMPART_GEN_TARGET_CHANGED,
 * naming the file, and writes nothing, as it does for a file that changes under a run. A file that does not
 * exist is written anew.
 */
export async function refreshAssets(
  workspace: Workspace,
  service: string,
  entry: ManifestEntry,
): Promise<FileChange[]> {
  const manifest = readManifest(workspace, service);
  if (!manifest) throw new GenError('RAMPART_GEN_TARGET_MISSING', `${manifestPath(service)} does not exist`);
  const { applied = [], ...first } = manifest;
  const paths = assetPaths(service);
  const after = await renderAssets(describeService(service, [first, ...applied, entry]));
  const targets = [
    { path: paths.dashboard, content: after.dashboard },
    { path: paths.rules, content: after.rules },
  ].map((target) => {
    const file = join(workspace.root, target.path);
    return { ...target, original: existsSync(file) ? readFileSync(file, 'utf8') : undefined };
  });
  if (targets.every((target) => target.original === undefined)) {
    return targets.map(({ path, content }) => ({ path, content, kind: 'create' }));
  }

  // The generators' own renderings of what is there now, formatted as the CLI formats what it writes.
  const before = await renderAssets(describeService(service, [first, ...applied]));
  const legacy = await renderAssets({ service, routes: resourceRoutes(FIRST_RESOURCE), tasks: [] });
  const known = formatChanges(
    workspace.root,
    [before, legacy].flatMap((rendered, index) => [
      { path: `${index}/${paths.dashboard}`, content: rendered.dashboard, kind: 'create' as const },
      { path: `${index}/${paths.rules}`, content: rendered.rules, kind: 'create' as const },
    ]),
  );

  return targets.map(({ path, content, original }): FileChange => {
    if (original === undefined) return { path, content, kind: 'create' };
    const generated = known
      .filter((change) => change.path.endsWith(`/${path}`))
      .map((change) => change.content);
    if (!generated.includes(original)) {
      throw new GenError(
        'RAMPART_GEN_TARGET_CHANGED',
        `${path} is not what the generators rendered from ${manifestPath(service)} (edited by hand since, or rendered by an older @rampart/observability), and the generator would overwrite it; nothing was written. Undo the edits (git diff shows them), or delete the file to have it written anew, and run the generator again; then re-apply the edits`,
      );
    }
    return { path, content, kind: 'update', original };
  });
}
