import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readEnvVariables } from './env-variables.ts';
import { checkManifests } from './k8s-check.ts';
import { checkUnknownFields } from './k8s-fields.ts';
import { validateSchemas } from './k8s-schema.ts';
import { type K8sObject, parseObjects } from './kustomize.ts';

// `kubectl kustomize` of the production overlay `gen service shop --port 3200` writes, and its src/env.ts.
const rendered = parseObjects(
  readFileSync(new URL('../test/fixtures/rendered-service.yaml', import.meta.url), 'utf8'),
  'fixture',
);
const envVariables = readEnvVariables(
  readFileSync(new URL('../test/fixtures/env.ts.txt', import.meta.url), 'utf8'),
  'env.ts',
).variables;

// biome-ignore lint/suspicious/noExplicitAny: the tests edit arbitrary paths of rendered objects
type Mutable = Record<string, any>;
function mutate(change: (find: (kind: string, name: string) => Mutable) => void): K8sObject[] {
  const objects = structuredClone(rendered) as Mutable[];
  change((kind, name) => {
    const found = objects.find((object) => object.kind === kind && object.metadata.name === name);
    if (!found) throw new Error(`fixture has no ${kind}/${name}`);
    return found;
  });
  return objects as K8sObject[];
}
const api = (object: Mutable) => object.spec.template.spec.containers[0];
const rulesOf = (objects: K8sObject[]) =>
  checkManifests(objects, { file: 'overlay', envVariables, release: true }).map((problem) => problem.rule);

describe('checkManifests', () => {
  it('passes the generated production overlay', async () => {
    expect(rendered.map((object) => object.kind).sort()).toEqual([
      'ConfigMap',
      'Deployment',
      'Deployment',
      'HorizontalPodAutoscaler',
      'NetworkPolicy',
      'NetworkPolicy',
      'PodDisruptionBudget',
      'PodDisruptionBudget',
      'Service',
      'ServiceAccount',
    ]);
    expect(checkManifests(rendered, { file: 'overlay', envVariables, release: true })).toEqual([]);
    expect(await validateSchemas(rendered, 'overlay')).toEqual([]);
  });

  it.each<[string, (find: (kind: string, name: string) => Mutable) => void, string]>([
    [
      'a missing readiness probe',
      (find) => delete api(find('Deployment', 'shop-api')).readinessProbe,
      'probes',
    ],
    [
      'a probe on an undeclared port',
      (find) => (api(find('Deployment', 'shop-worker')).livenessProbe.httpGet.port = 'http'),
      'probes',
    ],
    [
      'a liveness probe on /health/ready',
      (find) => (api(find('Deployment', 'shop-api')).livenessProbe.httpGet.path = '/health/ready'),
      'probes',
    ],
    [
      'a writable root filesystem',
      (find) => (api(find('Deployment', 'shop-worker')).securityContext.readOnlyRootFilesystem = false),
      'security-context',
    ],
    [
      'capabilities kept',
      (find) => (api(find('Deployment', 'shop-api')).securityContext.capabilities.drop = []),
      'security-context',
    ],
    [
      'privilege escalation',
      (find) => delete api(find('Deployment', 'shop-api')).securityContext.allowPrivilegeEscalation,
      'security-context',
    ],
    [
      'root allowed',
      (find) => {
        const deployment = find('Deployment', 'shop-api');
        delete deployment.spec.template.spec.securityContext.runAsNonRoot;
      },
      'security-context',
    ],
    [
      'no seccomp profile',
      (find) => delete find('Deployment', 'shop-api').spec.template.spec.securityContext.seccompProfile,
      'seccomp',
    ],
    [
      'a mounted service account token',
      (find) => (find('Deployment', 'shop-worker').spec.template.spec.automountServiceAccountToken = true),
      'service-account-token',
    ],
    ['no memory limit', (find) => delete api(find('Deployment', 'shop-api')).resources.limits, 'resources'],
    [
      'a grace period shorter than SHUTDOWN_GRACE_MS',
      (find) => (find('Deployment', 'shop-api').spec.template.spec.terminationGracePeriodSeconds = 10),
      'graceful-shutdown',
    ],
    [
      'a selector that misses the pods',
      (find) =>
        (find('Deployment', 'shop-worker').spec.selector.matchLabels['app.kubernetes.io/component'] =
          'api-x'),
      'selector',
    ],
    [
      'a Service selecting nothing',
      (find) => (find('Service', 'shop').spec.selector['app.kubernetes.io/component'] = 'web'),
      'references',
    ],
    [
      'a Service on a port the pods lack',
      (find) => (find('Service', 'shop').spec.ports[0].targetPort = 'https'),
      'references',
    ],
    [
      'a probe on a port the process does not listen on',
      (find) => {
        const worker = api(find('Deployment', 'shop-worker'));
        worker.ports[0].containerPort = 9999;
        find('NetworkPolicy', 'shop-worker').spec.ingress[0].ports[0].port = 9999;
      },
      'probes',
    ],
    [
      'replicas on an autoscaled Deployment',
      (find) => (find('Deployment', 'shop-api').spec.replicas = 2),
      'autoscaling',
    ],
    [
      'an HPA on a missing Deployment',
      (find) => (find('HorizontalPodAutoscaler', 'shop-api').spec.scaleTargetRef.name = 'shop'),
      'references',
    ],
    [
      'a worker without a PodDisruptionBudget',
      (find) =>
        (find('PodDisruptionBudget', 'shop-worker').spec.selector.matchLabels['app.kubernetes.io/component'] =
          'x'),
      'disruption-budget',
    ],
    [
      'a worker health port the NetworkPolicy blocks',
      (find) => (find('NetworkPolicy', 'shop-worker').spec.ingress[0].ports[0].port = 9999),
      'network-policy',
    ],
    [
      'an ingress rule open on every port',
      (find) => delete find('NetworkPolicy', 'shop-api').spec.ingress[0].ports,
      'network-policy',
    ],
    [
      'a scrape annotation on a port the pod lacks',
      (find) =>
        (find('Deployment', 'shop-api').spec.template.metadata.annotations['prometheus.io/port'] = '9100'),
      'prometheus',
    ],
    [
      'a secret in the ConfigMap',
      (find) => {
        const configMap = rendered.find((object) => object.kind === 'ConfigMap')!;
        find('ConfigMap', configMap.metadata!.name!).data.API_KEY_PEPPER = 'x'.repeat(32);
      },
      'secrets',
    ],
    [
      'a ConfigMap key env.ts does not declare',
      (find) => {
        const configMap = rendered.find((object) => object.kind === 'ConfigMap')!;
        find('ConfigMap', configMap.metadata!.name!).data.LOG_LEVLE = 'debug';
      },
      'env',
    ],
    [
      'a secret given as a literal value',
      (find) =>
        (api(find('Deployment', 'shop-api')).env[0] = { name: 'DATABASE_URL', value: 'postgres://u:p@db/x' }),
      'secrets',
    ],
    [
      'a secret of env.ts no Deployment takes',
      (find) => {
        for (const name of ['shop-api', 'shop-worker']) {
          const container = api(find('Deployment', name));
          container.env = container.env.filter((variable: Mutable) => variable.name !== 'API_KEY_PEPPER');
        }
      },
      'secrets',
    ],
    [
      'envFrom a whole Secret',
      (find) => api(find('Deployment', 'shop-api')).envFrom.push({ secretRef: { name: 'shop-secrets' } }),
      'secrets',
    ],
    [
      'a :latest image in a release overlay',
      (find) => (api(find('Deployment', 'shop-api')).image = 'registry.example.invalid/shop:latest'),
      'image',
    ],
  ])('fails on %s', (_name, change, rule) => {
    expect(rulesOf(mutate(change))).toContain(rule);
  });

  it('allows :latest outside release overlays (the base)', () => {
    const objects = mutate(
      (find) => (api(find('Deployment', 'shop-api')).image = 'registry.example.invalid/shop:latest'),
    );
    expect(checkManifests(objects, { file: 'base', envVariables })).toEqual([]);
  });
});

describe('validateSchemas', () => {
  it('reports type errors with their path, and kinds it has no schema for', async () => {
    const objects = mutate((find) => {
      find('Deployment', 'shop-api').spec.replicas = 'two';
      api(find('Deployment', 'shop-worker')).resources.requests.cpu = 'lots';
    });
    objects.push({ apiVersion: 'apps/v1', kind: 'Deploymnet', metadata: { name: 'typo' } });
    const messages = (await validateSchemas(objects, 'overlay')).map((problem) => problem.message);
    expect(messages).toContain('Deployment/shop-api: /spec/replicas must be integer');
    expect(messages).toContainEqual(
      expect.stringMatching(
        /^Deployment\/shop-worker: \/spec\/template\/spec\/containers\/0\/resources\/requests\/cpu /,
      ),
    );
    expect(messages).toContain('Deploymnet/typo: no schema for apiVersion "apps/v1" kind "Deploymnet"');
  });
});

describe('checkUnknownFields', () => {
  it('passes the generated overlay and names misspelt or misplaced fields', () => {
    expect(checkUnknownFields(rendered, 'overlay')).toEqual([]);
    const objects = mutate((find) => {
      const api = find('Deployment', 'shop-api').spec.template.spec;
      api.containers[0].livenesProbe = api.containers[0].livenessProbe;
      find('Deployment', 'shop-worker').spec.template.spec.securityContext.readOnlyRootFilesystem = true;
    });
    expect(checkUnknownFields(objects, 'overlay')).toEqual([
      {
        file: 'overlay',
        rule: 'unknown-field',
        message: expect.stringMatching(
          /^Deployment\/shop-api: unknown field livenesProbe \(IContainer has no such field/,
        ),
      },
      {
        file: 'overlay',
        rule: 'unknown-field',
        message: expect.stringMatching(
          /^Deployment\/shop-worker: unknown field readOnlyRootFilesystem \(IPodSecurityContext/,
        ),
      },
    ]);
  });
});
