import type { ImageDefaults } from './dockerfile-check.ts';
import type { K8sObject } from './kustomize.ts';
import type { Problem } from './problem.ts';
import {
  type BuildEntries,
  type EnvValidator,
  entryFor,
  nodeScript,
  startFiles,
  tracingProblem,
} from './service-runtime.ts';

export interface RuntimeCheckOptions {
  /** Where the objects came from (the kustomization directory), for messages. */
  file: string;
  /** What the service's build writes (readBuildEntries); without it commands are not checked. */
  entries?: BuildEntries;
  /** The image's ENTRYPOINT, CMD, ENV and WORKDIR (readImageDefaults), under what the pods set. */
  image?: ImageDefaults;
  /** The service's environment parser (loadEnvValidator); without it values are not checked. */
  env?: EnvValidator;
  /** The path each start file serves metrics on (readMetricsPaths); without it the scrape path is not checked. */
  metricsPaths?: ReadonlyMap<string, string | false>;
}

interface EnvVar {
  name?: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name?: string; key?: string };
    configMapKeyRef?: { name?: string; key?: string };
    fieldRef?: { fieldPath?: string };
    resourceFieldRef?: unknown;
  };
}
interface Container {
  name?: string;
  command?: string[];
  args?: string[];
  workingDir?: string;
  ports?: { containerPort?: number }[];
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name?: string } }[];
}

// Values a secret may take for the parser to accept it, tried in order (a Secret's real value is never in
// the manifests): a PostgreSQL URL, a Redis URL, an HTTPS URL, a long random-looking string, a key ring.
const SECRET_PLACEHOLDERS = [
  'postgres://placeholder:placeholder@placeholder.invalid:5432/placeholder',
  'redis://:placeholder@placeholder.invalid:6379',
  'https://placeholder.invalid/',
  'placeholder'.repeat(8),
  `1:${'A'.repeat(43)}=`,
];
// What the kubelet fills a fieldRef with, as far as a value's shape goes.
const FIELD_PLACEHOLDERS: Record<string, string> = {
  'status.podIP': '10.0.0.1',
  'status.hostIP': '10.0.0.1',
};
const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|::1|\[::1\]|0:0:0:0:0:0:0:1)$/i;

/**
 * What a rendered kustomization's pods would actually do, checked against the service's code:
 * - each container starts (its command and args, else the image's ENTRYPOINT and CMD) a start file the
 *   service's build writes, the worker Deployment (`app.kubernetes.io/component: worker`) the one built
 *   from src/worker.ts and the API's (`component: api`) the one built from src/server.ts;
 * - its environment (image ENV, then the ConfigMaps, then `env`, with placeholders for secrets) passes the
 *   service's own parseEnv from src/env.ts, or, when that cannot run, has whole numbers where src/env.ts
 *   declares integers or the name ends in _MS;
 * - HOST is not a loopback address (the probes and the Service could not reach the process);
 * - @rampart/observability's register hook accepts its OTEL_* values (it exits 1 otherwise);
 * - `prometheus.io/path` is the path the started file serves metrics on.
 */
export function checkRuntime(objects: readonly K8sObject[], options: RuntimeCheckOptions): Problem[] {
  const problems: Problem[] = [];
  // One problem for the same finding in several containers (a ConfigMap value every Deployment reads).
  const findings = new Map<string, { rule: string; where: string[] }>();
  const fail = (rule: string, where: string, message: string) => {
    const key = `${rule}\n${message}`;
    const found = findings.get(key);
    if (found) found.where.push(where);
    else findings.set(key, { rule, where: [where] });
  };
  const configMaps = new Map(
    objects
      .filter((object) => object.kind === 'ConfigMap')
      .map((object) => [object.metadata?.name ?? '', (object.data ?? {}) as Record<string, string>]),
  );
  const starts = options.entries ? startFiles(options.entries) : undefined;
  const placeholders = new Map<string, string | undefined>();
  const placeholderFor = (name: string) => {
    if (options.env?.kind !== 'parser') return undefined;
    if (!placeholders.has(name)) {
      const parse = options.env.parse;
      const accepted = SECRET_PLACEHOLDERS.find(
        (candidate) =>
          !parse({ [name]: candidate }).problems.some((problem) => problem.startsWith(`${name}=`)),
      );
      placeholders.set(name, accepted);
    }
    return placeholders.get(name);
  };

  for (const deployment of objects.filter((object) => object.kind === 'Deployment')) {
    const name = deployment.metadata?.name ?? '?';
    const template = (
      (deployment.spec ?? {}) as {
        template?: { metadata?: K8sObject['metadata']; spec?: { containers?: Container[] } };
      }
    ).template;
    const component = template?.metadata?.labels?.['app.kubernetes.io/component'];
    // The generated Deployments say which process they run; another component is only held to the start files.
    const role =
      component === undefined
        ? name.endsWith('-worker')
          ? 'worker'
          : 'server'
        : ({ api: 'server', worker: 'worker' } as const)[component as 'api' | 'worker'];
    const scripts = new Map<Container, string>();

    for (const container of template?.spec?.containers ?? []) {
      const at = `Deployment/${name} container ${container.name ?? '?'}`;

      const argv = [
        ...(container.command ?? options.image?.entrypoint ?? []),
        ...(container.args ?? (container.command ? [] : (options.image?.cmd ?? []))),
      ];
      if (starts && options.entries && (container.command || container.args || options.image)) {
        const workdir = container.workingDir ?? options.image?.workdir ?? '/';
        const started = nodeScript(argv, workdir);
        const expected = role ? entryFor(options.entries, role) : undefined;
        const list = [...starts.keys()].join(', ');
        if ('none' in started)
          fail('entry', at, `${started.none}; it must start ${expected ?? `one of ${list}`}`);
        else {
          scripts.set(container, started.script);
          if (!starts.has(started.script)) {
            const compiled = options.entries.compiled.has(started.script);
            fail(
              'entry',
              at,
              compiled
                ? `runs ${started.script}, a module tsc writes, not a start file (the build's start files: ${list})`
                : `runs ${started.script}, which the build does not write (its start files: ${list})`,
            );
          } else if (expected && started.script !== expected) {
            fail(
              'entry',
              at,
              `the ${role === 'worker' ? 'worker' : 'API'} Deployment runs ${started.script}; it must run ${expected} (built from ${starts.get(expected)})`,
            );
          }
        }
      }

      if (!options.env) continue;
      const values: Record<string, string> = { ...(options.image?.env ?? {}) };
      for (const source of container.envFrom ?? []) {
        Object.assign(values, configMaps.get(source.configMapRef?.name ?? '') ?? {});
      }
      const secrets = new Set<string>();
      for (const variable of container.env ?? []) {
        if (!variable.name) continue;
        const from = variable.valueFrom;
        if (variable.value !== undefined) values[variable.name] = variable.value;
        else if (from?.secretKeyRef) secrets.add(variable.name);
        else if (from?.configMapKeyRef) {
          const value = configMaps.get(from.configMapKeyRef.name ?? '')?.[from.configMapKeyRef.key ?? ''];
          if (value !== undefined) values[variable.name] = value;
        } else if (from?.fieldRef)
          values[variable.name] = FIELD_PLACEHOLDERS[from.fieldRef.fieldPath ?? ''] ?? 'placeholder';
        else if (from?.resourceFieldRef) values[variable.name] = '1';
      }
      // A value Kubernetes expands from another variable ($(POD_IP)) is known only in the pod.
      const expanded = new Set(
        Object.keys(values).filter((key) => /\$\([A-Za-z_][A-Za-z0-9_]*\)/.test(values[key]!)),
      );

      let host: unknown = values.HOST;
      if (options.env.kind === 'parser') {
        const withSecrets = { ...values };
        const unknown = new Set(expanded);
        for (const secret of secrets) {
          const placeholder = placeholderFor(secret);
          if (placeholder === undefined) unknown.add(secret);
          else withSecrets[secret] = placeholder;
        }
        for (const key of expanded) delete withSecrets[key];
        const parsed = options.env.parse(withSecrets);
        for (const problem of parsed.problems) {
          if ([...unknown].some((key) => problem.startsWith(`${key}=`))) continue;
          fail('env-values', at, `src/env.ts's parseEnv refuses ${problem}`);
        }
        if (parsed.env) host = expanded.has('HOST') ? undefined : parsed.env.HOST;
      } else {
        for (const [key, value] of Object.entries(values)) {
          if (expanded.has(key) || value === '') continue;
          if ((options.env.integers.has(key) || /_MS$/.test(key)) && !/^-?\d+$/.test(value))
            fail('env-values', at, `${key}=${JSON.stringify(value)}: must be a whole number`);
        }
        if (host === undefined && !expanded.has('HOST')) host = options.env.hostDefault;
      }
      if (typeof host === 'string' && LOOPBACK.test(host)) {
        fail(
          'env-values',
          at,
          `HOST=${host} listens on loopback inside the pod: the kubelet's probes and the Service cannot reach it (set HOST=0.0.0.0)`,
        );
      }

      const tracing: Record<string, string> = {};
      for (const [key, value] of Object.entries(values)) {
        if (key.startsWith('OTEL_') && !secrets.has(key) && !expanded.has(key)) tracing[key] = value;
      }
      const refused = tracingProblem(tracing);
      if (refused) fail('env-values', at, `@rampart/observability/register exits 1 at start: ${refused}`);
    }

    const annotations = template?.metadata?.annotations ?? {};
    const path = annotations['prometheus.io/path'];
    if (annotations['prometheus.io/scrape'] === 'true' && path && options.metricsPaths) {
      const port = annotations['prometheus.io/port'];
      const containers = template?.spec?.containers ?? [];
      const scraped =
        containers.find((container) =>
          (container.ports ?? []).some((candidate) => String(candidate.containerPort) === port),
        ) ?? containers[0];
      const script = scraped ? scripts.get(scraped) : undefined;
      const served = script === undefined ? undefined : options.metricsPaths.get(script);
      if (served === false) {
        fail(
          'prometheus',
          `Deployment/${name}`,
          `is scraped, but ${script} serves no metrics (metricsPath: false)`,
        );
      } else if (served !== undefined && served !== path) {
        fail(
          'prometheus',
          `Deployment/${name}`,
          `prometheus.io/path is ${path}, but ${script} serves its metrics on ${served}`,
        );
      }
    }
  }

  for (const [key, { rule, where }] of findings) {
    const message = key.slice(rule.length + 1);
    problems.push({ file: options.file, rule, message: `${where.join(', ')}: ${message}` });
  }
  return problems;
}

/**
 * The image's own start command (ENTRYPOINT then CMD) must start one of the build's start files: a
 * Deployment without `command` and `args`, and `docker run`, run it.
 */
export function checkImageCommand(image: ImageDefaults, entries: BuildEntries, file: string): Problem[] {
  const starts = startFiles(entries);
  if (starts.size === 0) return [];
  const argv = [...(image.entrypoint ?? []), ...(image.cmd ?? [])];
  const started = nodeScript(argv, image.workdir);
  const list = [...starts.keys()].join(', ');
  if ('none' in started)
    return [
      { file, rule: 'entry', message: `ENTRYPOINT and CMD: ${started.none}; they must start one of ${list}` },
    ];
  if (starts.has(started.script)) return [];
  return [
    {
      file,
      rule: 'entry',
      message: `CMD runs ${started.script}, which the build does not write as a start file (its start files: ${list})`,
    },
  ];
}
