import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readImageDefaults } from './dockerfile-check.ts';
import { readEnvVariables } from './env-variables.ts';
import { checkManifests } from './k8s-check.ts';
import { type K8sObject, parseObjects } from './kustomize.ts';
import { checkImageCommand, checkRuntime, type RuntimeCheckOptions } from './runtime-check.ts';
import { type BuildEntries, type EnvValidator, tracingVariables } from './service-runtime.ts';

// `kubectl kustomize` of the production overlay `gen service shop --port 3200` writes, and its Dockerfile.
const rendered = parseObjects(
  readFileSync(new URL('../test/fixtures/rendered-service.yaml', import.meta.url), 'utf8'),
  'fixture',
);
const dockerfile = readFileSync(new URL('../test/fixtures/Dockerfile', import.meta.url), 'utf8');
const image = readImageDefaults(dockerfile);
// What the generated build writes (readBuildEntries over the generated package.json and tsconfig.build.json).
const entries: BuildEntries = {
  bundled: new Map([
    ['dist/server.js', 'src/server.ts'],
    ['dist/worker.js', 'src/worker.ts'],
  ]),
  compiled: new Map([
    ['dist/app.js', 'src/app.ts'],
    ['dist/env.js', 'src/env.ts'],
  ]),
};
// The static rules, as loadEnvValidator falls back to them for a src/env.ts it does not import.
const staticRules: EnvValidator = {
  kind: 'static',
  reason: 'test',
  integers: new Set(['PORT', 'WORKER_HEALTH_PORT', 'RATE_LIMIT_MAX', 'SHUTDOWN_GRACE_MS']),
  hostDefault: '127.0.0.1',
};
const options: RuntimeCheckOptions = {
  file: 'overlay',
  entries,
  image,
  env: staticRules,
  metricsPaths: new Map([
    ['dist/server.js', '/metrics'],
    ['dist/worker.js', '/metrics'],
  ]),
};

// biome-ignore lint/suspicious/noExplicitAny: the tests edit arbitrary paths of rendered objects
type Mutable = Record<string, any>;
function mutate(change: (find: (kind: string, name?: string) => Mutable) => void): K8sObject[] {
  const objects = structuredClone(rendered) as Mutable[];
  change((kind, name) => {
    const found = objects.find(
      (object) => object.kind === kind && (name === undefined || object.metadata.name === name),
    );
    if (!found) throw new Error(`fixture has no ${kind}/${name}`);
    return found;
  });
  return objects as K8sObject[];
}
const container = (object: Mutable) => object.spec.template.spec.containers[0];
const messagesOf = (objects: K8sObject[], with_: Partial<RuntimeCheckOptions> = {}) =>
  checkRuntime(objects, { ...options, ...with_ }).map((problem) => `[${problem.rule}] ${problem.message}`);

describe('readImageDefaults', () => {
  it('reads the final stage’s ENTRYPOINT, CMD, WORKDIR and ENV (ARGs resolved)', () => {
    expect(image).toEqual({
      entrypoint: ['/usr/bin/tini', '--'],
      cmd: ['node', 'dist/server.js'],
      workdir: '/app',
      env: expect.objectContaining({
        NODE_ENV: 'production',
        HOST: '0.0.0.0',
        PORT: '3200',
        SERVICE_VERSION: '0.0.0',
      }),
    });
  });
});

describe('checkRuntime', () => {
  it('passes the generated overlay', () => {
    expect(checkRuntime(rendered, options)).toEqual([]);
  });

  it.each<[string, (find: (kind: string, name?: string) => Mutable) => void, string]>([
    [
      'args starting a file the build does not write',
      (find) => (container(find('Deployment', 'shop-api')).args = ['node', 'dist/main.js']),
      '[entry] Deployment/shop-api container api: runs dist/main.js, which the build does not write (its start files: dist/server.js, dist/worker.js)',
    ],
    [
      'args starting a module tsc writes',
      (find) => (container(find('Deployment', 'shop-api')).args = ['node', 'dist/app.js']),
      "[entry] Deployment/shop-api container api: runs dist/app.js, a module tsc writes, not a start file (the build's start files: dist/server.js, dist/worker.js)",
    ],
    [
      'the worker started as the API server',
      (find) => (container(find('Deployment', 'shop-worker')).args = ['node', 'dist/server.js']),
      '[entry] Deployment/shop-worker container worker: the worker Deployment runs dist/server.js; it must run dist/worker.js (built from src/worker.ts)',
    ],
    [
      'a worker without args (the image’s CMD starts the server)',
      (find) => delete container(find('Deployment', 'shop-worker')).args,
      '[entry] Deployment/shop-worker container worker: the worker Deployment runs dist/server.js; it must run dist/worker.js (built from src/worker.ts)',
    ],
    [
      'the API started with inline code',
      (find) =>
        (container(find('Deployment', 'shop-api')).command = ['node', '-e', 'setInterval(() => {}, 1000)']),
      '[entry] Deployment/shop-api container api: runs inline code (node -e); it must start dist/server.js',
    ],
    [
      'HOST on loopback',
      (find) => (find('ConfigMap').data.HOST = '127.0.0.1'),
      "[env-values] Deployment/shop-api container api, Deployment/shop-worker container worker: HOST=127.0.0.1 listens on loopback inside the pod: the kubelet's probes and the Service cannot reach it (set HOST=0.0.0.0)",
    ],
    [
      'a duration that is no whole number',
      (find) => (find('ConfigMap').data.RATE_LIMIT_WINDOW_MS = '60s'),
      '[env-values] Deployment/shop-api container api, Deployment/shop-worker container worker: RATE_LIMIT_WINDOW_MS="60s": must be a whole number',
    ],
    [
      'an OTEL sampler the register hook refuses',
      (find) => (find('ConfigMap').data.OTEL_TRACES_SAMPLER = 'ratio'),
      '[env-values] Deployment/shop-api container api, Deployment/shop-worker container worker: @rampart/observability/register exits 1 at start: invalid OTEL_* environment variable: OTEL_TRACES_SAMPLER="ratio": expected one of always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio',
    ],
    [
      'a scrape path the server does not serve',
      (find) =>
        (find('Deployment', 'shop-api').spec.template.metadata.annotations['prometheus.io/path'] =
          '/metricz'),
      '[prometheus] Deployment/shop-api: prometheus.io/path is /metricz, but dist/server.js serves its metrics on /metrics',
    ],
  ])('fails on %s', (_name, change, message) => {
    expect(messagesOf(mutate(change))).toContain(message);
  });

  it('holds a Deployment of another component to the start files only', () => {
    const other = (args: string[]) =>
      mutate((find) => {
        const worker = find('Deployment', 'shop-worker');
        worker.spec.template.metadata.labels['app.kubernetes.io/component'] = 'reindex';
        container(worker).args = args;
      });
    expect(messagesOf(other(['node', 'dist/server.js']))).toEqual([]);
    expect(messagesOf(other(['node', 'dist/reindex.js']))).toEqual([
      '[entry] Deployment/shop-worker container worker: runs dist/reindex.js, which the build does not write (its start files: dist/server.js, dist/worker.js)',
    ]);
  });

  it('falls back to the default HOST when nothing sets it, and takes $(VAR) values as unknown', () => {
    const unset = mutate((find) => delete find('ConfigMap').data.HOST);
    const withoutImage = { ...image, env: { ...image.env } };
    delete withoutImage.env.HOST;
    expect(messagesOf(unset, { image: withoutImage })).toContainEqual(
      expect.stringContaining('HOST=127.0.0.1'),
    );
    expect(messagesOf(unset)).toEqual([]); // the image's ENV HOST=0.0.0.0 applies
    const podIp = mutate((find) => {
      find('ConfigMap').data.HOST = '$(POD_IP)';
    });
    expect(messagesOf(podIp, { image: withoutImage })).toEqual([]);
  });

  it('checks the worker’s scrape path against the worker’s', () => {
    const objects = mutate((find) => {
      find('Deployment', 'shop-worker').spec.template.metadata.annotations = {
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': '4200',
        'prometheus.io/path': '/metrics',
      };
    });
    expect(messagesOf(objects)).toEqual([]);
    const paths = new Map([
      ['dist/server.js', '/metrics'],
      ['dist/worker.js', '/stats'],
    ]);
    expect(messagesOf(objects, { metricsPaths: paths })).toEqual([
      '[prometheus] Deployment/shop-worker: prometheus.io/path is /metrics, but dist/worker.js serves its metrics on /stats',
    ]);
  });
});

describe('checkImageCommand', () => {
  it('passes the generated Dockerfile and fails on a CMD the build does not write', () => {
    expect(checkImageCommand(image, entries, 'Dockerfile')).toEqual([]);
    const broken = readImageDefaults(
      dockerfile.replace('CMD ["node", "dist/server.js"]', 'CMD ["node", "dist/main.js"]'),
    );
    expect(checkImageCommand(broken, entries, 'Dockerfile')).toEqual([
      {
        file: 'Dockerfile',
        rule: 'entry',
        message:
          'CMD runs dist/main.js, which the build does not write as a start file (its start files: dist/server.js, dist/worker.js)',
      },
    ]);
  });
});

describe('the register hook’s variables', () => {
  it('are declared for checkManifests, beside src/env.ts; a misspelt one is not', () => {
    const envVariables = readEnvVariables(
      readFileSync(new URL('../test/fixtures/env.ts.txt', import.meta.url), 'utf8'),
      'env.ts',
    ).variables;
    const objects = mutate((find) => {
      Object.assign(find('ConfigMap').data, {
        OTEL_EXPORTER_OTLP_TIMEOUT: '10000',
        OTEL_SDK_DISABLED: 'false',
        OTEL_BSP_MAX_QUEUE_SIZE: '4096',
      });
    });
    const envProblems = (hookVariables?: ReadonlySet<string>) =>
      checkManifests(objects, {
        file: 'overlay',
        envVariables,
        release: true,
        ...(hookVariables ? { hookVariables } : {}),
      })
        .filter((problem) => problem.rule === 'env')
        .map((problem) => problem.message);
    expect(envProblems()).toHaveLength(3); // what the audit found: refused as undeclared
    expect(envProblems(tracingVariables())).toEqual([]);
    const typo = mutate((find) => (find('ConfigMap').data.OTEL_SDK_DISABLE = 'true'));
    expect(
      checkManifests(typo, {
        file: 'overlay',
        envVariables,
        release: true,
        hookVariables: tracingVariables(),
      }).map((problem) => problem.message),
    ).toContainEqual(expect.stringMatching(/OTEL_SDK_DISABLE is not declared in src\/env\.ts/));
    expect(messagesOf(objects)).toEqual([]);
  });

  it('take the OTLP headers (the collector credentials) from a Secret, never a ConfigMap', () => {
    const objects = mutate((find) => {
      find('ConfigMap').data.OTEL_EXPORTER_OTLP_HEADERS = 'authorization=Bearer%20collector-token';
    });
    const problems = checkManifests(objects, {
      file: 'overlay',
      envVariables: readEnvVariables(
        readFileSync(new URL('../test/fixtures/env.ts.txt', import.meta.url), 'utf8'),
        'env.ts',
      ).variables,
      release: true,
      hookVariables: tracingVariables(),
    });
    expect(problems.map((problem) => `[${problem.rule}] ${problem.message}`)).toContainEqual(
      expect.stringMatching(
        /^\[secrets\] .*OTEL_EXPORTER_OTLP_HEADERS is a secret and must come from a Secret/,
      ),
    );
  });
});
