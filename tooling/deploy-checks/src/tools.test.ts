import { describe, expect, it } from 'vitest';
import { resolveDeployTools } from './tools.ts';

describe('resolveDeployTools', () => {
  const none = { kubectl: null, promtool: 'promtool', dockerCompose: null };

  it('announces each missing tool and lets its checks skip outside CI', () => {
    const lines: string[] = [];
    expect(resolveDeployTools({ ci: false, warn: (line) => lines.push(line) }, none)).toBe(none);
    expect(lines).toEqual([
      'SKIPPED TOOL: kubectl not installed',
      'SKIPPED TOOL: docker-compose not installed',
    ]);
  });

  it('fails with RAMPART_DEPLOY_TOOL_MISSING under CI', () => {
    expect(() => resolveDeployTools({ ci: true, warn: () => undefined }, none)).toThrow(
      expect.objectContaining({
        code: 'RAMPART_DEPLOY_TOOL_MISSING',
        message: expect.stringContaining('kubectl, docker-compose'),
      }),
    );
  });
});
