import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEPLOY_CHECK_ERRORS, DeployCheckError } from './errors.ts';

describe('errors', () => {
  it('lists exactly the codes of the README errors table', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Errors'));
    const documented = [...section.matchAll(/^\| `(RAMPART_[A-Z_]+)`/gm)].map((match) => match[1]);
    expect(documented.sort()).toEqual(Object.keys(DEPLOY_CHECK_ERRORS).sort());
  });

  it('carries its code, the meaning and the cause', () => {
    const cause = new Error('exit 1');
    const error = new DeployCheckError('RAMPART_DEPLOY_RENDER_FAILED', 'apps/x/deploy/k8s/base', { cause });
    expect(error.code).toBe('RAMPART_DEPLOY_RENDER_FAILED');
    expect(error.message).toBe(`${DEPLOY_CHECK_ERRORS.RAMPART_DEPLOY_RENDER_FAILED}: apps/x/deploy/k8s/base`);
    expect(error.cause).toBe(cause);
  });
});
