import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse } from 'yaml';
import { checkComposeStack } from './compose-check.ts';
import { checkDashboard } from './dashboard-check.ts';
import {
  checkDockerfile,
  checkDockerignore,
  type ImageDefaults,
  readImageDefaults,
} from './dockerfile-check.ts';
import { readEnvVariables } from './env-variables.ts';
import { checkManifests } from './k8s-check.ts';
import { checkUnknownFields } from './k8s-fields.ts';
import { validateSchemas } from './k8s-schema.ts';
import { renderKustomization } from './kustomize.ts';
import { checkMetricReferences, observabilitySeries, readAppSeries } from './metrics-check.ts';
import type { Problem } from './problem.ts';
import { checkImageCommand, checkRuntime } from './runtime-check.ts';
import {
  type EnvValidator,
  loadEnvValidator,
  readBuildEntries,
  readMetricsPaths,
  startFiles,
  tracingVariables,
} from './service-runtime.ts';
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
 * apps/<name>/deploy/k8s (rendered, schema-validated, checked against the service's src/env.ts, its
 * build's start files and its own environment parser), each generated rules file (promtool check rules)
 * and dashboard (both against the metrics the code exports), and the local stack in deploy/ (its own
 * rules, `docker-compose config`, `promtool check config`).
 */
export async function checkWorkspace(root: string, tools: DeployTools): Promise<WorkspaceReport> {
  const report: WorkspaceReport = { problems: [], checked: [], skipped: [] };
  const rel = (path: string) => relative(root, path);
  const services = findServices(root);
  const hookVariables = tracingVariables();
  const exported = services.some((service) => service.ruleFiles.length + service.dashboardFiles.length > 0)
    ? await observabilitySeries()
    : undefined;

  for (const service of services) {
    const entries = readBuildEntries(service.dir);
    let image: ImageDefaults | undefined;
    if (service.dockerfile) {
      const content = readFileSync(service.dockerfile, 'utf8');
      report.problems.push(...checkDockerfile(content, rel(service.dockerfile)));
      image = readImageDefaults(content);
      if (entries) report.problems.push(...checkImageCommand(image, entries, rel(service.dockerfile)));
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
    let envValidator: EnvValidator | undefined;
    if (service.envFile) {
      const parsed = readEnvVariables(readFileSync(service.envFile, 'utf8'), rel(service.envFile));
      report.problems.push(...parsed.problems);
      envVariables = parsed.variables;
      envValidator = await loadEnvValidator(service.envFile);
    }
    const metricsPaths = entries ? readMetricsPaths(service.dir, entries) : undefined;
    if (service.kustomizations.length > 0 && tools.kubectl) {
      const starts = entries ? [...startFiles(entries).keys()].join(', ') : '';
      const values =
        envValidator === undefined
          ? 'no src/env.ts'
          : envValidator.kind === 'parser'
            ? `values through ${rel(service.envFile!)}'s parseEnv`
            : `values by static rules only: parseEnv not run, ${envValidator.reason}`;
      report.checked.push(
        `runtime apps/${service.name} (${starts ? `start files ${starts}` : 'no build script: commands not checked'}; ${values})`,
      );
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
            hookVariables,
            ...(envVariables ? { envVariables } : {}),
          }),
        );
        report.problems.push(
          ...checkRuntime(objects, {
            file: where,
            ...(entries ? { entries } : {}),
            ...(image ? { image } : {}),
            ...(envValidator ? { env: envValidator } : {}),
            ...(metricsPaths ? { metricsPaths } : {}),
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
    if (exported && service.ruleFiles.length + service.dashboardFiles.length > 0) {
      const series = new Map(exported.series);
      for (const [name, labels] of readAppSeries(join(service.dir, 'src'), exported.defaultLabels))
        series.set(name, labels);
      const read = (file: string) => ({ file: rel(file), content: readFileSync(file, 'utf8') });
      report.problems.push(
        ...checkMetricReferences({
          series,
          ruleFiles: service.ruleFiles.map(read),
          dashboards: service.dashboardFiles.map(read),
        }),
      );
      report.checked.push(
        `metrics ${[...service.ruleFiles, ...service.dashboardFiles].map(rel).join(' ')} (against ${series.size} exported series)`,
      );
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
