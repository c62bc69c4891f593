import { isSecretVariable } from './env-variables.ts';
import type { K8sObject } from './kustomize.ts';
import type { Problem } from './problem.ts';

export interface ManifestCheckOptions {
  /** Where the objects came from (the kustomization directory), for messages. */
  file: string;
  /** The variables the service's src/env.ts declares; when given, config and secret wiring is checked against them. */
  envVariables?: ReadonlySet<string>;
  /**
   * Variables read before src/env.ts runs, by @rampart/observability's register hook (tracingVariables):
   * declared too, though src/env.ts need not list them.
   */
  hookVariables?: ReadonlySet<string>;
  /** An overlay that ships (production): images must carry a release tag or digest, never `latest`. */
  release?: boolean;
}

interface Probe {
  httpGet?: { path?: string; port?: number | string };
}
interface Container {
  name?: string;
  image?: string;
  ports?: { name?: string; containerPort?: number }[];
  env?: {
    name?: string;
    value?: string;
    valueFrom?: { secretKeyRef?: { name?: string; key?: string }; configMapKeyRef?: { name?: string } };
  }[];
  envFrom?: { configMapRef?: { name?: string }; secretRef?: { name?: string } }[];
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  resources?: { requests?: Record<string, unknown>; limits?: Record<string, unknown> };
  securityContext?: {
    runAsNonRoot?: boolean;
    runAsUser?: number;
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    privileged?: boolean;
    capabilities?: { drop?: string[]; add?: string[] };
  };
}
interface PodSpec {
  containers?: Container[];
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; seccompProfile?: { type?: string } };
  automountServiceAccountToken?: boolean;
  terminationGracePeriodSeconds?: number;
  hostNetwork?: boolean;
  hostPID?: boolean;
}
interface Workload {
  name: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  pod: PodSpec;
}

const PROBES = [
  ['startupProbe', '/health/live'],
  ['livenessProbe', '/health/live'],
  ['readinessProbe', '/health/ready'],
] as const;

/**
 * The rules a Rampart workload keeps, over one rendered kustomization: every Deployment has startup,
 * liveness and readiness probes on its health endpoints and a declared port, CPU and memory requests and a
 * memory limit, a locked-down securityContext, no service account token, and a grace period longer than
 * SHUTDOWN_GRACE_MS; every Deployment is covered by a PodDisruptionBudget and a NetworkPolicy that admits
 * its ports; each Service, HPA, PDB and NetworkPolicy points at something that exists; Prometheus scrape
 * annotations name a real port; config comes from a ConfigMap holding only declared, non-secret variables,
 * and every secret variable of src/env.ts comes from a Secret.
 */
export function checkManifests(objects: readonly K8sObject[], options: ManifestCheckOptions): Problem[] {
  const problems: Problem[] = [];
  const fail = (rule: string, message: string) => problems.push({ file: options.file, rule, message });
  const declared = (name: string) =>
    options.envVariables === undefined ||
    options.envVariables.has(name) ||
    options.hookVariables?.has(name) === true;
  const ofKind = (kind: string) => objects.filter((object) => object.kind === kind);
  const spec = (object: K8sObject) => (object.spec ?? {}) as Record<string, unknown>;

  const workloads: Workload[] = ofKind('Deployment').map((object) => {
    const template = (spec(object).template ?? {}) as { metadata?: K8sObject['metadata']; spec?: PodSpec };
    return {
      name: object.metadata?.name ?? '?',
      labels: template.metadata?.labels ?? {},
      annotations: template.metadata?.annotations ?? {},
      pod: template.spec ?? {},
    };
  });
  if (workloads.length === 0) fail('workloads', 'no Deployment rendered');

  const configMaps = new Map(
    ofKind('ConfigMap').map((object) => [
      object.metadata?.name ?? '',
      (object.data ?? {}) as Record<string, string>,
    ]),
  );
  const selects = (selector: Record<string, string> | undefined, labels: Record<string, string>) =>
    selector !== undefined &&
    Object.keys(selector).length > 0 &&
    Object.entries(selector).every(([key, value]) => labels[key] === value);
  const portsOf = (workload: Workload) =>
    (workload.pod.containers ?? []).flatMap((container) => container.ports ?? []);
  const resolvePort = (workload: Workload, port: number | string | undefined) =>
    typeof port === 'number'
      ? port
      : portsOf(workload).find((candidate) => candidate.name === port)?.containerPort;

  for (const object of ofKind('Deployment')) {
    const name = object.metadata?.name ?? '?';
    const selector = ((spec(object).selector ?? {}) as { matchLabels?: Record<string, string> }).matchLabels;
    const workload = workloads.find((candidate) => candidate.name === name)!;
    if (!selects(selector, workload.labels))
      fail('selector', `Deployment/${name}: spec.selector.matchLabels does not match its pod labels`);
  }

  const secretVariables = new Set<string>();
  for (const workload of workloads) {
    const where = `Deployment/${workload.name}`;
    const pod = workload.pod;
    if (pod.automountServiceAccountToken !== false)
      fail('service-account-token', `${where}: automountServiceAccountToken is not false`);
    if (pod.hostNetwork || pod.hostPID)
      fail('host-namespaces', `${where}: shares the host's network or PID namespace`);
    if (
      pod.securityContext?.seccompProfile?.type !== 'RuntimeDefault' &&
      pod.securityContext?.seccompProfile?.type !== 'Localhost'
    ) {
      fail('seccomp', `${where}: pod securityContext.seccompProfile is not RuntimeDefault`);
    }
    const containers = pod.containers ?? [];
    if (containers.length === 0) fail('workloads', `${where}: no containers`);
    for (const container of containers) {
      const at = `${where} container ${container.name ?? '?'}`;
      checkContainer(container, at, pod, options, fail);
      const listening = listeningPorts(container, configMaps);
      for (const [probeName, path] of PROBES) {
        const probe = container[probeName]?.httpGet;
        if (!probe) {
          fail('probes', `${at}: no ${probeName} (httpGet ${path})`);
          continue;
        }
        if (probe.path !== path)
          fail('probes', `${at}: ${probeName} asks ${probe.path ?? '(no path)'}, expected ${path}`);
        const port = resolvePort(workload, probe.port);
        if (port === undefined)
          fail('probes', `${at}: ${probeName} port ${String(probe.port)} is not a declared container port`);
        else if (listening.size > 0 && !listening.has(port)) {
          fail(
            'probes',
            `${at}: ${probeName} asks port ${port}, but the process listens on ${[...listening].join(' or ')} (PORT / WORKER_HEALTH_PORT)`,
          );
        }
      }
      const usedConfigMaps = (container.envFrom ?? []).flatMap((source) =>
        source.configMapRef?.name ? [source.configMapRef.name] : [],
      );
      for (const configMapName of usedConfigMaps) {
        const data = configMaps.get(configMapName);
        if (!data) {
          fail('config', `${at}: envFrom ConfigMap ${configMapName} is not part of the kustomization`);
          continue;
        }
        const grace = Number(data.SHUTDOWN_GRACE_MS);
        if (Number.isFinite(grace) && (pod.terminationGracePeriodSeconds ?? 30) * 1000 <= grace) {
          fail(
            'graceful-shutdown',
            `${at}: terminationGracePeriodSeconds (${pod.terminationGracePeriodSeconds ?? 30}) is not longer than SHUTDOWN_GRACE_MS (${grace} ms)`,
          );
        }
      }
      if ((container.envFrom ?? []).some((source) => source.secretRef)) {
        fail(
          'secrets',
          `${at}: envFrom secretRef hides which secrets the service needs; name each with secretKeyRef`,
        );
      }
      for (const variable of container.env ?? []) {
        const variableName = variable.name ?? '?';
        if (!declared(variableName))
          fail(
            'env',
            `${at}: env ${variableName} is not declared in src/env.ts (nor read by the register hook)`,
          );
        if (isSecretVariable(variableName) && !variable.valueFrom?.secretKeyRef)
          fail('secrets', `${at}: ${variableName} is a secret but does not come from a Secret`);
        if (variable.valueFrom?.secretKeyRef) secretVariables.add(variableName);
      }
    }
    const scrapePort = workload.annotations['prometheus.io/port'];
    if (workload.annotations['prometheus.io/scrape'] === 'true') {
      if (!portsOf(workload).some((port) => String(port.containerPort) === scrapePort)) {
        fail('prometheus', `${where}: prometheus.io/port "${scrapePort}" is not a container port`);
      }
      if (!workload.annotations['prometheus.io/path'])
        fail('prometheus', `${where}: prometheus.io/scrape without prometheus.io/path`);
    }
  }

  for (const [configMapName, data] of configMaps) {
    for (const key of Object.keys(data)) {
      if (isSecretVariable(key))
        fail('secrets', `ConfigMap/${configMapName}: ${key} is a secret and must come from a Secret`);
      else if (!declared(key))
        fail(
          'env',
          `ConfigMap/${configMapName}: ${key} is not declared in src/env.ts (nor read by the register hook)`,
        );
    }
  }
  if (options.envVariables) {
    for (const variable of options.envVariables) {
      if (isSecretVariable(variable) && !secretVariables.has(variable)) {
        fail('secrets', `${variable} (src/env.ts) is a secret no Deployment takes from a Secret`);
      }
    }
  }

  const servedWorkloads = new Set<string>();
  for (const service of ofKind('Service')) {
    const name = service.metadata?.name ?? '?';
    const serviceSpec = spec(service) as {
      selector?: Record<string, string>;
      ports?: { targetPort?: number | string; port?: number }[];
    };
    const targets = workloads.filter((workload) => selects(serviceSpec.selector, workload.labels));
    if (targets.length === 0) fail('references', `Service/${name}: selector matches no Deployment's pods`);
    for (const target of targets) {
      servedWorkloads.add(target.name);
      for (const port of serviceSpec.ports ?? []) {
        if (resolvePort(target, port.targetPort ?? port.port) === undefined) {
          fail(
            'references',
            `Service/${name}: targetPort ${String(port.targetPort)} is not a port of Deployment/${target.name}`,
          );
        }
      }
    }
  }

  const scaled = new Set<string>();
  for (const hpa of ofKind('HorizontalPodAutoscaler')) {
    const target = (spec(hpa).scaleTargetRef ?? {}) as { kind?: string; name?: string };
    if (target.kind !== 'Deployment' || !workloads.some((workload) => workload.name === target.name)) {
      fail(
        'references',
        `HorizontalPodAutoscaler/${hpa.metadata?.name}: scaleTargetRef ${target.kind}/${target.name} is not in the kustomization`,
      );
    } else {
      scaled.add(target.name!);
      const deployment = ofKind('Deployment').find((object) => object.metadata?.name === target.name);
      if (deployment && spec(deployment).replicas !== undefined) {
        fail(
          'autoscaling',
          `Deployment/${target.name}: sets spec.replicas, which resets the HorizontalPodAutoscaler's count on every apply`,
        );
      }
    }
  }
  for (const name of servedWorkloads) {
    if (!scaled.has(name))
      fail('autoscaling', `Deployment/${name} serves a Service but no HorizontalPodAutoscaler scales it`);
  }

  for (const workload of workloads) {
    const where = `Deployment/${workload.name}`;
    const budgets = ofKind('PodDisruptionBudget').filter((pdb) =>
      selects(
        ((spec(pdb).selector ?? {}) as { matchLabels?: Record<string, string> }).matchLabels,
        workload.labels,
      ),
    );
    if (budgets.length !== 1)
      fail(
        'disruption-budget',
        `${where}: ${budgets.length} PodDisruptionBudgets select it (want exactly 1)`,
      );

    const policies = ofKind('NetworkPolicy').filter((policy) =>
      selects(
        ((spec(policy).podSelector ?? {}) as { matchLabels?: Record<string, string> }).matchLabels,
        workload.labels,
      ),
    );
    if (policies.length === 0) {
      fail('network-policy', `${where}: no NetworkPolicy selects its pods`);
      continue;
    }
    const admitted = new Set<number>();
    for (const policy of policies) {
      const policySpec = spec(policy) as {
        policyTypes?: string[];
        ingress?: { ports?: { port?: number | string }[] }[];
      };
      if (!policySpec.policyTypes?.includes('Ingress') || !policySpec.policyTypes.includes('Egress')) {
        fail(
          'network-policy',
          `NetworkPolicy/${policy.metadata?.name}: policyTypes must list Ingress and Egress (default deny both)`,
        );
      }
      for (const rule of policySpec.ingress ?? []) {
        if (!rule.ports || rule.ports.length === 0)
          fail('network-policy', `NetworkPolicy/${policy.metadata?.name}: an ingress rule admits every port`);
        for (const port of rule.ports ?? []) {
          const resolved = resolvePort(workload, port.port);
          if (resolved !== undefined) admitted.add(resolved);
        }
      }
    }
    for (const port of portsOf(workload)) {
      if (port.containerPort !== undefined && !admitted.has(port.containerPort)) {
        fail(
          'network-policy',
          `${where}: port ${port.containerPort} (${port.name ?? 'unnamed'}) is not admitted by its NetworkPolicy, so its probes or traffic would be cut`,
        );
      }
    }
  }
  return problems;
}

function checkContainer(
  container: Container,
  at: string,
  pod: PodSpec,
  options: ManifestCheckOptions,
  fail: (rule: string, message: string) => void,
): void {
  const context = container.securityContext ?? {};
  if (context.runAsNonRoot !== true && pod.securityContext?.runAsNonRoot !== true)
    fail('security-context', `${at}: runAsNonRoot is not true`);
  if (context.runAsUser === 0 || pod.securityContext?.runAsUser === 0)
    fail('security-context', `${at}: runs as user 0`);
  if (context.allowPrivilegeEscalation !== false)
    fail('security-context', `${at}: allowPrivilegeEscalation is not false`);
  if (context.readOnlyRootFilesystem !== true)
    fail('security-context', `${at}: readOnlyRootFilesystem is not true`);
  if (context.privileged === true) fail('security-context', `${at}: privileged`);
  if (!context.capabilities?.drop?.includes('ALL'))
    fail('security-context', `${at}: capabilities.drop does not include ALL`);
  if ((context.capabilities?.add ?? []).length > 0)
    fail('security-context', `${at}: adds capabilities ${context.capabilities?.add?.join(', ')}`);

  const requests = container.resources?.requests ?? {};
  if (requests.cpu === undefined || requests.memory === undefined)
    fail('resources', `${at}: no cpu and memory requests`);
  if (container.resources?.limits?.memory === undefined) fail('resources', `${at}: no memory limit`);

  const image = container.image ?? '';
  if (!image) fail('image', `${at}: no image`);
  else if (options.release) {
    const tag = /:([^/:@]+)$/.exec(image)?.[1];
    if (!image.includes('@sha256:') && (tag === undefined || tag === 'latest')) {
      fail(
        'image',
        `${at}: image ${image} has no release tag or digest (a release overlay never ships :latest)`,
      );
    }
  }
}

/** The ports the process listens on, from the PORT and WORKER_HEALTH_PORT its ConfigMaps or env give it. */
function listeningPorts(
  container: Container,
  configMaps: ReadonlyMap<string, Record<string, string>>,
): Set<number> {
  const values = new Map<string, string>();
  for (const source of container.envFrom ?? []) {
    const data = source.configMapRef?.name ? configMaps.get(source.configMapRef.name) : undefined;
    for (const [key, value] of Object.entries(data ?? {})) values.set(key, value);
  }
  for (const variable of container.env ?? []) {
    if (variable.name && variable.value !== undefined) values.set(variable.name, variable.value);
  }
  const ports = new Set<number>();
  for (const key of ['PORT', 'WORKER_HEALTH_PORT']) {
    const port = Number(values.get(key));
    if (Number.isInteger(port) && port > 0) ports.add(port);
  }
  return ports;
}
