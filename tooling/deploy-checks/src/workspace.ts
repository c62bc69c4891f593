import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** One service in apps/ and the deployment files the checks look at. */
export interface ServiceFiles {
  name: string;
  dir: string;
  /** Its default port (rampart.json), when it has one. */
  port?: number;
  dockerfile?: string;
  envFile?: string;
  /** Every directory under deploy/k8s holding a kustomization; `release` for those under overlays/. */
  kustomizations: { dir: string; release: boolean }[];
  /** Generated Prometheus rule files (deploy/prometheus/*.rules.yml). */
  ruleFiles: string[];
  /** Generated Grafana dashboards (deploy/grafana/*.json). */
  dashboardFiles: string[];
}

/** The services in `<root>/apps`, each with the deployment files it has. */
export function findServices(root: string): ServiceFiles[] {
  const apps = join(root, 'apps');
  if (!existsSync(apps)) return [];
  return readdirSync(apps, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(apps, entry.name, 'package.json')))
    .map((entry) => {
      const dir = join(apps, entry.name);
      const manifest = join(dir, 'rampart.json');
      const port = existsSync(manifest)
        ? Number(
            (JSON.parse(readFileSync(manifest, 'utf8')) as { answers?: { port?: unknown } }).answers?.port,
          )
        : Number.NaN;
      const rules = join(dir, 'deploy/prometheus');
      const dashboards = join(dir, 'deploy/grafana');
      return {
        name: entry.name,
        dir,
        ...(Number.isInteger(port) ? { port } : {}),
        ...(existsSync(join(dir, 'Dockerfile')) ? { dockerfile: join(dir, 'Dockerfile') } : {}),
        ...(existsSync(join(dir, 'src/env.ts')) ? { envFile: join(dir, 'src/env.ts') } : {}),
        kustomizations: kustomizationDirs(join(dir, 'deploy/k8s')).map((found) => ({
          dir: found,
          release: found.includes('/overlays/'),
        })),
        ruleFiles: existsSync(rules)
          ? readdirSync(rules)
              .filter((name) => /\.rules\.ya?ml$/.test(name))
              .map((name) => join(rules, name))
          : [],
        dashboardFiles: existsSync(dashboards)
          ? readdirSync(dashboards)
              .filter((name) => name.endsWith('.json'))
              .map((name) => join(dashboards, name))
          : [],
      };
    });
}

function kustomizationDirs(dir: string): string[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return [];
  const found = existsSync(join(dir, 'kustomization.yaml')) ? [dir] : [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) found.push(...kustomizationDirs(join(dir, entry.name)));
  }
  return found.sort();
}
