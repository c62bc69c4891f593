import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse } from 'yaml';
import { checkComposeStack } from './compose-check.ts';
import { checkDashboard } from './dashboard-check.ts';
import { checkDockerfile, checkDockerignore } from './dockerfile-check.ts';
import { readEnvVariables } from './env-variables.ts';
import { checkManifests } from './k8s-check.ts';
import { checkUnknownFields } from './k8s-fields.ts';
import { validateSchemas } from './k8s-schema.ts';
import { renderKustomization } from './kustomize.ts';
import type { Problem } from './problem.ts';
import { type DeployTools, runTool } from './tools.ts';
import { findServices } from './workspace.ts';

export interface WorkspaceReport {
  problems: Problem[];
  /** What was checked, one line each (so a run that checked nothing is visible). */
  checked: string[];
  /** Checks that could not run, with the reason. */
  skipped: string[];
}

/**
 * Every deployment check over a workspace: each apps/* Dockerfile, each kustomization under
 * apps/<name>/deploy/k8s (rendered, schema-validated, checked against the service's src/env.ts), each
 * generated rules file (promtool check rules), and the local stack in deploy/ (its own rules,
 * `docker-compose config`, `promtool check config`).
 */
export async function checkWorkspace(root: string, tools: DeployTools): Promise<WorkspaceReport> {
  const report: WorkspaceReport = { problems: [], checked: [], skipped: [] };
  const rel = (path: string) => relative(root, path);
  const services = findServices(root);

  for (const service of services) {
    if (service.dockerfile) {
      report.problems.push(
        ...checkDockerfile(readFileSync(service.dockerfile, 'utf8'), rel(service.dockerfile)),
      );
      report.checked.push(`dockerfile ${rel(service.dockerfile)}`);
      const ignoreFile = [`${service.dockerfile}.dockerignore`, join(root, '.dockerignore')].find((path) =>
        existsSync(path),
      );
      if (!ignoreFile) {
        report.problems.push({
          file: rel(service.dockerfile),
          rule: 'dockerignore',
          message:
            'no Dockerfile.dockerignore beside it and no .dockerignore at the root: the build context would include node_modules, .git and .env files',
        });
      } else report.problems.push(...checkDockerignore(readFileSync(ignoreFile, 'utf8'), rel(ignoreFile)));
    }
    let envVariables: Set<string> | undefined;
    if (service.envFile) {
      const parsed = readEnvVariables(readFileSync(service.envFile, 'utf8'), rel(service.envFile));
      report.problems.push(...parsed.problems);
      envVariables = parsed.variables;
    }
    for (const kustomization of service.kustomizations) {
      const where = rel(kustomization.dir);
      if (!tools.kubectl) {
        report.skipped.push(`kustomize ${where}: kubectl not installed`);
        continue;
      }
      try {
        const objects = renderKustomization(kustomization.dir, tools.kubectl);
        report.problems.push(...(await validateSchemas(objects, where)));
        report.problems.push(...checkUnknownFields(objects, where));
        report.problems.push(
          ...checkManifests(objects, {
            file: where,
            release: kustomization.release,
            ...(envVariables ? { envVariables } : {}),
          }),
        );
        report.checked.push(`kustomize ${where} (${objects.length} objects)`);
      } catch (error) {
        report.problems.push({ file: where, rule: 'render', message: (error as Error).message });
      }
    }
    for (const dashboard of service.dashboardFiles) {
      report.problems.push(
        ...checkDashboard(readFileSync(dashboard, 'utf8'), rel(dashboard), provisionedDatasources(root)),
      );
      report.checked.push(`dashboard ${rel(dashboard)}`);
    }
    if (service.ruleFiles.length > 0) {
      const files = service.ruleFiles.map(rel).join(' ');
      if (!tools.promtool) report.skipped.push(`promtool check rules ${files}: promtool not installed`);
      else {
        const result = runTool(tools.promtool, ['check', 'rules', ...service.ruleFiles], { cwd: root });
        if (result.code !== 0)
          report.problems.push({
            file: files,
            rule: 'promtool',
            message: (result.stderr || result.stdout).trim(),
          });
        report.checked.push(`promtool check rules ${files}`);
      }
    }
  }

  const composeFile = join(root, 'deploy/compose.yaml');
  if (!existsSync(composeFile)) return report;
  const servicePorts = new Map(
    services.flatMap((service) =>
      service.port === undefined ? [] : [[service.name, service.port] as const],
    ),
  );
  report.problems.push(...checkComposeStack({ composeFile, root, servicePorts }));
  report.checked.push(`stack ${rel(composeFile)}`);
  if (!tools.dockerCompose) report.skipped.push('docker-compose config: docker-compose not installed');
  else {
    const result = runTool(tools.dockerCompose, ['-f', composeFile, 'config', '--quiet'], { cwd: root });
    if (result.code !== 0)
      report.problems.push({ file: rel(composeFile), rule: 'docker-compose', message: result.stderr.trim() });
    report.checked.push(`docker-compose config ${rel(composeFile)}`);
  }
  const prometheusConfig = join(root, 'deploy/prometheus/prometheus.yml');
  if (!tools.promtool) report.skipped.push('promtool check config: promtool not installed');
  else {
    const result = runTool(tools.promtool, ['check', 'config', '--syntax-only', prometheusConfig], {
      cwd: root,
    });
    if (result.code !== 0)
      report.problems.push({
        file: rel(prometheusConfig),
        rule: 'promtool',
        message: (result.stderr || result.stdout).trim(),
      });
    report.checked.push(`promtool check config ${rel(prometheusConfig)}`);
  }
  return report;
}

/** The uids of the data sources deploy/grafana provisions (none when the workspace has no stack). */
function provisionedDatasources(root: string): string[] {
  const path = join(root, 'deploy/grafana/provisioning/datasources/datasources.yml');
  if (!existsSync(path)) return [];
  const config = parse(readFileSync(path, 'utf8')) as { datasources?: { uid?: string }[] } | null;
  return (config?.datasources ?? []).flatMap((source) => (source.uid ? [source.uid] : []));
}
