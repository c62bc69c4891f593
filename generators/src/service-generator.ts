import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { descriptionQuestion } from './description.ts';
import { checkName } from './names.ts';
import { createAssets } from './observability-assets.ts';
import type { GeneratorSpec } from './spec.ts';
import type { FileChange } from './staged-write.ts';
import { renderTemplateTree } from './templates.ts';
import { readToolchainVersions } from './toolchain-versions.ts';
import { packageNameTaken, type Workspace } from './workspace.ts';

/** Bumped whenever the service templates change, so a later upgrade knows what a service was made from. */
export const SERVICE_TEMPLATE_VERSION = 18;
const FIRST_PORT = 3000;

/** A service's worker process serves its health routes on the service's port plus this. */
const WORKER_PORT_OFFSET = 1000;

function defaultOf(env: string, variable: string): number | undefined {
  const match = new RegExp(`${variable}: Type\\.Integer\\(\\{[^}]*default: (\\d+)`, 's').exec(env);
  return match?.[1] ? Number(match[1]) : undefined;
}

/**
 * Ports the workspace's services already claim, each with what claims it: a service's port (from its
 * rampart.json, else its env.ts default) and its worker's health port (env.ts's WORKER_HEALTH_PORT
 * default, else the port + 1000, as the service template sets it).
 */
function portsInUse(workspace: Workspace): Map<number, string> {
  const ports = new Map<number, string>();
  for (const app of workspace.apps) {
    const manifest = join(workspace.root, 'apps', app, 'rampart.json');
    const envFile = join(workspace.root, 'apps', app, 'src/env.ts');
    const env = existsSync(envFile) ? readFileSync(envFile, 'utf8') : '';
    let port: number | undefined;
    if (existsSync(manifest)) {
      const answer = Number(
        (JSON.parse(readFileSync(manifest, 'utf8')) as { answers?: { port?: unknown } }).answers?.port,
      );
      if (Number.isInteger(answer)) port = answer;
    } else {
      port = defaultOf(env, 'PORT');
    }
    if (port === undefined) continue;
    ports.set(port, `apps/${app}'s port`);
    const worker = defaultOf(env, 'WORKER_HEALTH_PORT') ?? port + WORKER_PORT_OFFSET;
    if (!ports.has(worker)) ports.set(worker, `apps/${app}'s worker health port`);
  }
  return ports;
}

/** Why `port` cannot be a new service's port (it or its worker's port is taken), or undefined. */
function portClash(port: number, used: ReadonlyMap<number, string>): string | undefined {
  const own = used.get(port);
  if (own) return `port ${port} is already the default of another service in apps/ (${own})`;
  const worker = port + WORKER_PORT_OFFSET;
  const workers = used.get(worker);
  if (workers) {
    return `port ${port} would give the service's worker the health port ${worker}, already the default of another service in apps/ (${workers})`;
  }
  return undefined;
}

function nextFreePort(workspace: Workspace): number {
  const used = portsInUse(workspace);
  let port = FIRST_PORT;
  while (portClash(port, used)) port += 1;
  return port;
}

/** Adds the service to the local stack's Prometheus targets (deploy/), when the workspace has the stack. */
function prometheusTarget(workspace: Workspace, name: string, port: number): FileChange[] {
  const path = 'deploy/prometheus/targets/services.yml';
  const file = join(workspace.root, path);
  if (!existsSync(file)) return [];
  const current = readFileSync(file, 'utf8');
  if (new RegExp(`^\\s*service: ${name}$`, 'm').test(current)) return [];
  const entry = `- targets: ["host.docker.internal:${port}"]\n  labels:\n    service: ${name}\n`;
  return [{ path, content: `${current.replace(/\n*$/, '\n')}${entry}`, kind: 'update', original: current }];
}

/** `gen service <name>`: a Fastify service wired with the Rampart packages, its image and manifests. */
export const serviceGenerator: GeneratorSpec = {
  name: 'service',
  description: 'a hardened Fastify service with its Dockerfile and Kubernetes manifests',
  usage: 'gen service <name> [--port N] [--description "..."]',
  questions: [
    {
      name: 'name',
      message: 'Service name (kebab-case)',
      position: 0,
      required: true,
      validate(value, workspace) {
        const problem = checkName(value, 'service');
        if (problem) return problem;
        if (workspace.apps.includes(value)) return `apps/${value} already exists`;
        if (workspace.packages.includes(value))
          return `"${value}" is already a package name in this workspace`;
        return packageNameTaken(workspace, value);
      },
    },
    {
      name: 'port',
      message: 'Port it listens on by default',
      required: false,
      whenEmpty: (workspace) => `${nextFreePort(workspace)}, the next free one`,
      validate(value, workspace) {
        const port = Number(value);
        // The worker's health port is port + 1000, so that must be a valid port too.
        if (!/^\d+$/.test(value) || port < 1024 || port > 64535)
          return `port "${value}" must be a whole number from 1024 to 64535`;
        return portClash(port, portsInUse(workspace));
      },
    },
    descriptionQuestion('A Rampart service.'),
  ],
  async plan(answers, workspace, render) {
    const name = answers.name!;
    const port = answers.port ? Number(answers.port) : nextFreePort(workspace);
    const versions = readToolchainVersions(workspace.root);
    const data = {
      ...answers,
      port,
      workerHealthPort: port + 1000,
      constName: name.toUpperCase().replaceAll('-', '_'),
      scope: workspace.scope,
      nodeVersion: versions.node,
      pnpmVersion: versions.pnpm,
      turboVersion: versions.turbo,
      templateVersion: SERVICE_TEMPLATE_VERSION,
    };
    return {
      changes: [
        ...renderTemplateTree('service', data, render),
        // Its dashboard and rules: the template's routes (items) and tasks (audit.verify); `gen task` and
        // `gen resource` render them again from rampart.json as they add to the service.
        ...(await createAssets(name, {
          generator: 'service',
          templateVersion: SERVICE_TEMPLATE_VERSION,
          answers: { name },
        })),
        ...prometheusTarget(workspace, name, port),
      ],
      next: [
        './rampart install',
        `./rampart turbo run typecheck lint test --filter=${workspace.scope}/${name}`,
        `./rampart turbo run build --filter=${workspace.scope}/${name}... && node apps/${name}/dist/server.js`,
      ],
    };
  },
};
