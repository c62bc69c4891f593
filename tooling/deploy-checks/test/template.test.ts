import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkWorkspace } from '../src/check-workspace.ts';
import { formatProblems } from '../src/problem.ts';
import { deployTools, type GeneratedWorkspace, generateService } from './support.ts';

describe('what `gen service` writes', () => {
  let generated: GeneratedWorkspace;
  beforeAll(() => {
    generated = generateService('orders', 3400);
  }, 60_000);
  afterAll(() => generated?.remove());

  it('passes every deployment check', async () => {
    const tools = deployTools();
    const report = await checkWorkspace(generated.root, { ...tools, dockerCompose: null });
    expect(formatProblems(report.problems)).toBe('');
    expect(report.checked).toContain('dockerfile apps/orders/Dockerfile');
    if (tools.kubectl) {
      expect(report.checked).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^kustomize apps\/orders\/deploy\/k8s\/base \(\d+ objects\)$/),
          expect.stringMatching(
            /^kustomize apps\/orders\/deploy\/k8s\/overlays\/production \(\d+ objects\)$/,
          ),
        ]),
      );
    }
  });

  it('wires every variable of the generated src/env.ts: plain ones from the ConfigMap, secrets from the Secret', () => {
    const dir = join(generated.root, 'apps/orders');
    const env = readFileSync(join(dir, 'src/env.ts'), 'utf8');
    const config = readFileSync(join(dir, 'deploy/k8s/base/config.env'), 'utf8');
    const api = readFileSync(join(dir, 'deploy/k8s/base/deployment-api.yaml'), 'utf8');
    const keys = [...config.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((match) => match[1]);
    expect(keys).toContain('WORKER_HEALTH_PORT');
    for (const key of keys) expect(env).toContain(`  ${key}:`);
    for (const secret of ['DATABASE_URL', 'REDIS_URL', 'API_KEY_PEPPER']) {
      expect(keys).not.toContain(secret);
      expect(api).toContain(`key: ${secret}`);
    }
  });
});
