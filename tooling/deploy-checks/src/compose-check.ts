import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parse } from 'yaml';
import type { Problem } from './problem.ts';

export interface ComposeStackOptions {
  /** The compose file, e.g. `<root>/deploy/compose.yaml`; the config files it mounts are checked beside it. */
  composeFile: string;
  /** Default ports of the services in apps/ (from their rampart.json): each must be a Prometheus target. */
  servicePorts?: ReadonlyMap<string, number>;
  /** Paths in messages are relative to this. */
  root: string;
}

interface ComposeService {
  image?: string;
  build?: unknown;
  ports?: (string | { host_ip?: string; published?: string | number })[];
  volumes?: (string | { type?: string; source?: string })[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: unknown; disable?: boolean };
}

/**
 * The local stack's own rules, which `docker compose config` does not know: images pinned to a version,
 * ports published on 127.0.0.1 only, every mounted file present, `depends_on` pointing at services that
 * exist (with a healthcheck where it waits for health), the collector's pipelines naming only defined
 * components (memory_limiter first), Grafana data sources pointing at stack services, and a Prometheus
 * target for every service in apps/.
 */
export function checkComposeStack(options: ComposeStackOptions): Problem[] {
  const problems: Problem[] = [];
  const file = relative(options.root, options.composeFile);
  const fail = (rule: string, message: string, where = file) => problems.push({ file: where, rule, message });
  const base = dirname(options.composeFile);
  const compose = readYaml(options.composeFile, fail) as
    | { services?: Record<string, ComposeService> }
    | undefined;
  const services = compose?.services ?? {};
  if (Object.keys(services).length === 0) fail('compose', 'no services');

  const mounts = new Map<string, string>();
  for (const [name, service] of Object.entries(services)) {
    if (!service.image) fail('pinned-image', `${name}: no image`);
    else {
      const tag = /:([^/:@]+)$/.exec(service.image)?.[1];
      if (!service.image.includes('@sha256:') && (!tag || tag === 'latest' || !/\d/.test(tag))) {
        fail('pinned-image', `${name}: image ${service.image} is not pinned to a version or digest`);
      }
    }
    for (const port of service.ports ?? []) {
      const published = typeof port === 'string' ? port : `${port.host_ip ?? ''}:${port.published ?? ''}`;
      if (!published.startsWith('127.0.0.1:'))
        fail('loopback-ports', `${name}: port "${published}" is not published on 127.0.0.1 only`);
    }
    for (const volume of service.volumes ?? []) {
      const source = typeof volume === 'string' ? volume.split(':')[0]! : (volume.source ?? '');
      if (source.startsWith('.') || source.startsWith('/')) {
        const path = resolve(base, source);
        if (!existsSync(path)) fail('mounts', `${name}: mounts ${source}, which does not exist`);
        mounts.set(path, name);
      }
    }
    const dependsOn = Array.isArray(service.depends_on)
      ? service.depends_on.map((target) => [target, undefined] as const)
      : Object.entries(service.depends_on ?? {}).map(([target, spec]) => [target, spec.condition] as const);
    for (const [target, condition] of dependsOn) {
      if (!services[target]) fail('depends-on', `${name}: depends on unknown service ${target}`);
      else if (condition === 'service_healthy' && !services[target].healthcheck?.test) {
        fail('depends-on', `${name}: waits for ${target} to be healthy, but ${target} has no healthcheck`);
      }
    }
  }

  checkCollector(join(base, 'otel-collector/config.yaml'), options.root, fail);
  checkGrafana(
    join(base, 'grafana/provisioning/datasources/datasources.yml'),
    Object.keys(services),
    options.root,
    fail,
  );
  if (options.servicePorts)
    checkTargets(join(base, 'prometheus/targets/services.yml'), options.servicePorts, options.root, fail);
  return problems;
}

type Fail = (rule: string, message: string, where?: string) => void;

function readYaml(path: string, fail: Fail, root?: string): unknown {
  const where = root ? relative(root, path) : path;
  if (!existsSync(path)) {
    fail('files', 'does not exist', where);
    return undefined;
  }
  try {
    return parse(readFileSync(path, 'utf8'));
  } catch (error) {
    fail('yaml', (error as Error).message.split('\n')[0]!, where);
    return undefined;
  }
}

function checkCollector(path: string, root: string, fail: Fail): void {
  const where = relative(root, path);
  const config = readYaml(path, fail, root) as
    | Record<string, Record<string, unknown> | undefined>
    | undefined;
  if (!config) return;
  const pipelines = (config.service?.pipelines ?? {}) as Record<string, Record<string, string[] | undefined>>;
  if (Object.keys(pipelines).length === 0) fail('collector', 'service.pipelines is empty', where);
  const used = new Set<string>();
  for (const [pipeline, spec] of Object.entries(pipelines)) {
    for (const section of ['receivers', 'processors', 'exporters'] as const) {
      const names = spec[section] ?? [];
      if (section !== 'processors' && names.length === 0)
        fail('collector', `pipeline ${pipeline} has no ${section}`, where);
      for (const name of names) {
        used.add(`${section}/${name}`);
        if (!config[section] || !(name in config[section]))
          fail('collector', `pipeline ${pipeline} uses ${section} "${name}", which is not defined`, where);
      }
    }
    const processors = spec.processors ?? [];
    if (processors.includes('memory_limiter') && processors[0] !== 'memory_limiter') {
      fail('collector', `pipeline ${pipeline}: memory_limiter must be the first processor`, where);
    }
  }
  for (const section of ['receivers', 'processors', 'exporters'] as const) {
    for (const name of Object.keys(config[section] ?? {})) {
      if (!used.has(`${section}/${name}`))
        fail('collector', `${section} "${name}" is defined but in no pipeline`, where);
    }
  }
  for (const name of (config.service?.extensions ?? []) as string[]) {
    if (!config.extensions || !(name in config.extensions))
      fail('collector', `service.extensions names "${name}", which is not defined`, where);
  }
}

function checkGrafana(path: string, services: readonly string[], root: string, fail: Fail): void {
  const where = relative(root, path);
  const config = readYaml(path, fail, root) as
    | { datasources?: { name?: string; uid?: string; type?: string; url?: string }[] }
    | undefined;
  if (!config) return;
  for (const source of config.datasources ?? []) {
    if (!source.uid || !source.type)
      fail(
        'grafana',
        `data source ${source.name ?? '?'} needs a uid and a type (dashboards refer to the uid)`,
        where,
      );
    const host = source.url ? /^https?:\/\/([^:/]+)/.exec(source.url)?.[1] : undefined;
    if (!host || !services.includes(host))
      fail(
        'grafana',
        `data source ${source.name ?? '?'} points at ${source.url}, not a service of the stack`,
        where,
      );
  }
}

function checkTargets(path: string, ports: ReadonlyMap<string, number>, root: string, fail: Fail): void {
  const where = relative(root, path);
  const groups = readYaml(path, fail, root) as
    | { targets?: string[]; labels?: Record<string, string> }[]
    | undefined;
  if (!groups) return;
  const targets = new Set(groups.flatMap((group) => group.targets ?? []));
  for (const [service, port] of ports) {
    if (!targets.has(`host.docker.internal:${port}`)) {
      fail(
        'scrape-targets',
        `service ${service} (port ${port}) is not scraped: add host.docker.internal:${port}`,
        where,
      );
    }
  }
}
