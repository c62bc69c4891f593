import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { workspaceRoot } from '../test/support.ts';
import { checkComposeStack } from './compose-check.ts';

const copies: string[] = [];
afterEach(() => {
  for (const dir of copies.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A copy of the workspace's deploy/ folder, with one file edited. */
function stackWith(file: string, edit: (text: string) => string): string {
  const root = mkdtempSync(join(tmpdir(), 'rampart-stack-'));
  copies.push(root);
  cpSync(join(workspaceRoot, 'deploy'), join(root, 'deploy'), { recursive: true });
  const path = join(root, 'deploy', file);
  const before = readFileSync(path, 'utf8');
  const after = edit(before);
  expect(after, `edit of ${file} changed nothing`).not.toBe(before);
  writeFileSync(path, after);
  return root;
}
const rulesOf = (root: string, servicePorts = new Map([['api', 3000]])) =>
  checkComposeStack({ composeFile: join(root, 'deploy/compose.yaml'), root, servicePorts }).map(
    (problem) => `${problem.file} ${problem.rule}`,
  );

describe('checkComposeStack', () => {
  it('passes the workspace stack, which scrapes every service in apps/', () => {
    const root = workspaceRoot;
    expect(
      checkComposeStack({
        composeFile: join(root, 'deploy/compose.yaml'),
        root,
        servicePorts: new Map([['api', 3000]]),
      }),
    ).toEqual([]);
  });

  it.each([
    [
      'an unpinned image',
      'compose.yaml',
      (text: string) => text.replace('redis:7.4.5-bookworm', 'redis:latest'),
      'deploy/compose.yaml pinned-image',
    ],
    [
      'a port open to the network',
      'compose.yaml',
      (text: string) => text.replace('"127.0.0.1:9090:9090"', '"9090:9090"'),
      'deploy/compose.yaml loopback-ports',
    ],
    [
      'a mounted file that is missing',
      'compose.yaml',
      (text: string) => text.replace('./tempo/tempo.yaml:', './tempo/missing.yaml:'),
      'deploy/compose.yaml mounts',
    ],
    [
      'waiting on a service that does not exist',
      'compose.yaml',
      (text: string) => text.replace(/depends_on:\n {6}- tempo/, 'depends_on:\n      - jaeger'),
      'deploy/compose.yaml depends-on',
    ],
    [
      'a pipeline naming an undefined exporter',
      'otel-collector/config.yaml',
      (text: string) => text.replace('exporters: [otlp/tempo]', 'exporters: [otlp/jaeger]'),
      'deploy/otel-collector/config.yaml collector',
    ],
    [
      'memory_limiter after batch',
      'otel-collector/config.yaml',
      (text: string) => text.replace('[memory_limiter, batch]', '[batch, memory_limiter]'),
      'deploy/otel-collector/config.yaml collector',
    ],
    [
      'a data source outside the stack',
      'grafana/provisioning/datasources/datasources.yml',
      (text: string) => text.replace('http://tempo:3200', 'http://jaeger:16686'),
      'deploy/grafana/provisioning/datasources/datasources.yml grafana',
    ],
    [
      'a service Prometheus does not scrape',
      'prometheus/targets/services.yml',
      (text: string) => text.replace('host.docker.internal:3000', 'host.docker.internal:3001'),
      'deploy/prometheus/targets/services.yml scrape-targets',
    ],
  ])('fails on %s', (_name, file, edit, expected) => {
    expect(rulesOf(stackWith(file, edit))).toContain(expected);
  });

  it('asks for a target per service in apps/', () => {
    const problems = checkComposeStack({
      composeFile: join(workspaceRoot, 'deploy/compose.yaml'),
      root: workspaceRoot,
      servicePorts: new Map([
        ['api', 3000],
        ['billing', 3999],
      ]),
    });
    expect(problems).toEqual([
      {
        file: 'deploy/prometheus/targets/services.yml',
        rule: 'scrape-targets',
        message: 'service billing (port 3999) is not scraped: add host.docker.internal:3999',
      },
    ]);
  });
});
