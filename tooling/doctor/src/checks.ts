import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { declaredRoutes } from './routes.ts';
import { registers, type SourceFile, walk } from './source.ts';

/** What a check sees of one service. */
export interface Service {
  name: string;
  dir: string;
  code: SourceFile[];
  tests: SourceFile[];
  packageJson: { dependencies?: Record<string, string>; devDependencies?: Record<string, string> };
}

export interface Verdict {
  ok: boolean;
  /** Why it failed, naming the missing piece; or what was found. */
  detail: string;
}

export interface DoctorCheck {
  id: string;
  run(service: Service): Verdict;
}

const pass = (detail: string): Verdict => ({ ok: true, detail });
const fail = (detail: string): Verdict => ({ ok: false, detail });

function plugin(name: string, module: string, what: string): DoctorCheck['run'] {
  return (service) => {
    const file = registers(service.code, name, module);
    return file
      ? pass(`${name} registered in ${file.path}`)
      : fail(`${what}: no \`register(${name})\` from ${module} in src/`);
  };
}

const INFRASTRUCTURE = /^\/(?:health|metrics)(?:\/|$)/;

function defines(service: Service, path: string): boolean {
  return service.code.some((file) => file.text.includes(`'${path}'`) || file.text.includes(`"${path}"`));
}

/** The static checks `pnpm doctor` runs on every service, in table order. */
export const DOCTOR_CHECKS: readonly DoctorCheck[] = [
  {
    id: 'observability',
    run: plugin('observability', '@rampart/observability/fastify', 'observability not registered'),
  },
  {
    id: 'health',
    run(service) {
      const file = registers(service.code, 'resiliencePlugin', '@rampart/resilience/fastify');
      if (file) return pass(`resiliencePlugin registered in ${file.path}`);
      const missing = ['/health/live', '/health/ready'].filter((path) => !defines(service, path));
      return missing.length === 0
        ? pass('/health/live and /health/ready defined')
        : fail(`health routes missing: ${missing.join(', ')} (register resiliencePlugin)`);
    },
  },
  {
    id: 'auth',
    run(service) {
      const file = registers(service.code, 'apiKeyAuthPlugin', '@rampart/security/fastify');
      const undecided = declaredRoutes(service.code).filter(
        (route) => !route.hasAuthDecision && !INFRASTRUCTURE.test(route.path),
      );
      const named = undecided.map((route) => `${route.method} ${route.path} (${route.file}:${route.line})`);
      if (!file)
        return fail(
          `apiKeyAuthPlugin not registered${named.length ? `; no auth decision: ${named.join(', ')}` : ''}`,
        );
      if (named.length > 0) return fail(`no auth decision (config.auth) on: ${named.join(', ')}`);
      return pass(`apiKeyAuthPlugin registered in ${file.path}; every route declares config.auth`);
    },
  },
  {
    id: 'rate-limit',
    run: plugin('rateLimitPlugin', '@rampart/security/fastify', 'rate limit not registered'),
  },
  {
    id: 'security-headers',
    run: plugin('securityHeadersPlugin', '@rampart/security/fastify', 'security headers not registered'),
  },
  {
    id: 'shutdown',
    run(service) {
      const shutdown = service.code.find(
        (file) => /\bcreateShutdown\s*\(/.test(file.text) && /\.listen\(\s*\)/.test(file.text),
      );
      if (shutdown) return pass(`createShutdown(...).listen() in ${shutdown.path}`);
      const handler = service.code.find(
        (file) =>
          /process\.(?:on|once)\(\s*['"]SIGTERM['"]/.test(file.text) && /\.close\(\s*\)/.test(file.text),
      );
      if (handler) return pass(`SIGTERM handler closing the app in ${handler.path}`);
      return fail(
        'graceful shutdown missing: no createShutdown(...).listen() and no SIGTERM handler that closes the app',
      );
    },
  },
  {
    id: 'conformance',
    run(service) {
      const declared = { ...service.packageJson.dependencies, ...service.packageJson.devDependencies };
      const suite = service.tests.find(
        (file) =>
          /from\s+['"]@rampart\/testing['"]/.test(file.text) && /\bdescribeHardening\s*\(/.test(file.text),
      );
      if (!suite)
        return fail('conformance suite missing: no test calls describeHardening from @rampart/testing');
      if (!('@rampart/testing' in declared))
        return fail(`${suite.path} uses @rampart/testing but package.json does not depend on it`);
      return pass(`describeHardening in ${suite.path}`);
    },
  },
  {
    id: 'dashboard',
    run(service) {
      for (const path of walk(service.dir, (name) => name.endsWith('.json'))) {
        try {
          const value = JSON.parse(readFileSync(path, 'utf8')) as {
            panels?: unknown;
            dashboard?: { panels?: unknown };
          };
          if (Array.isArray(value.panels) || Array.isArray(value.dashboard?.panels))
            return pass(`Grafana dashboard ${path.slice(service.dir.length + 1)}`);
        } catch {
          // Not JSON a dashboard could be; keep looking.
        }
      }
      return fail('dashboard missing: no Grafana dashboard JSON (an object with panels) in the service');
    },
  },
  {
    id: 'alert-rules',
    run(service) {
      for (const path of walk(service.dir, (name) => /\.ya?ml$/.test(name))) {
        const text = readFileSync(path, 'utf8');
        const ruleFile = /^groups:/m.test(text) && /^\s*-?\s*alert:/m.test(text);
        if (ruleFile || /^kind:\s*PrometheusRule\b/m.test(text))
          return pass(`alert rules ${path.slice(service.dir.length + 1)}`);
      }
      return fail('alert rules missing: no Prometheus rule file (groups with alert rules) in the service');
    },
  },
];

/** Reads one service directory (apps/<name>) for the checks. */
export function loadService(
  dir: string,
  name: string,
  sources: { code: SourceFile[]; tests: SourceFile[] },
): Service {
  const manifest = join(dir, 'package.json');
  const packageJson = existsSync(manifest)
    ? (JSON.parse(readFileSync(manifest, 'utf8')) as Service['packageJson'])
    : {};
  return { name, dir, ...sources, packageJson };
}
