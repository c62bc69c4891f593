import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScratch, type Scratch } from './scratch.ts';

// A service's name is in its Secret's name (`<name>-secrets`), so from 29 characters on the formatter
// wraps its Deployments' secretKeyRef entries, in one of three shapes by length. The first encrypted field
// adds FIELD_ENCRYPTION_KEYS beside API_KEY_PEPPER in each.
const SHAPES = {
  // 39-40 characters (40 is the longest name allowed)
  'abcdefghij-abcdefghij-abcdefghij-abcdefg': /valueFrom:\n +\{\n +secretKeyRef:\n +\{ name: /,
  // 37-38
  'abcdefghij-abcdefghij-abcdefghij-abcde': /valueFrom:\n +\{\n +secretKeyRef: \{ name: /,
  // 29-36
  'abcdefghij-abcdefghij-abcdefgh': /valueFrom:\n +\{ secretKeyRef: \{ name: /,
} as const;
const NAMES = Object.keys(SHAPES) as (keyof typeof SHAPES)[];

describe('gen resource with an encrypted field on a service with a long name', () => {
  let scratch: Scratch;
  beforeAll(() => {
    scratch = createScratch();
    for (const [index, name] of NAMES.entries()) {
      const made = scratch.gen('service', name, '--port', String(3400 + index));
      if (made.code !== 0) throw new Error(`gen service ${name} failed: ${made.stderr}`);
    }
    // drizzle-kit, which writes the resource's migration, is the new service's own.
    const install = scratch.run('pnpm', [
      'install',
      '--offline',
      '--no-frozen-lockfile',
      '--reporter=silent',
    ]);
    if (install.code !== 0) throw new Error(`install failed: ${install.output}`);
  });
  afterAll(() => scratch.remove());

  it.each(NAMES.map((name) => [name.length, name] as const))(
    'adds FIELD_ENCRYPTION_KEYS to both Deployments of a %s-character service',
    { timeout: 120_000 },
    (_length, name) => {
      const deployments = ['deployment-api.yaml', 'deployment-worker.yaml'].map(
        (file) => `apps/${name}/deploy/k8s/base/${file}`,
      );
      // The shape the formatter gave the entry, or the test would not test what it says.
      for (const path of deployments) {
        const yaml = readFileSync(join(scratch.dir, path), 'utf8');
        const pepper = yaml.slice(yaml.indexOf('- name: API_KEY_PEPPER'));
        expect(pepper).toMatch(new RegExp(`^- name: API_KEY_PEPPER\\n +${SHAPES[name].source}`));
      }
      const result = scratch.gen('resource', name, 'contacts', '--fields', 'email:encrypted-string');
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      for (const path of deployments) {
        expect(result.stdout).toContain(`update  ${path}`);
        const yaml = readFileSync(join(scratch.dir, path), 'utf8');
        const entry = /- name: FIELD_ENCRYPTION_KEYS\n\s+valueFrom:\s*\{\s*secretKeyRef:\s*\{([^}]*)\}/.exec(
          yaml,
        );
        expect(entry?.[1]?.replace(/\s+/g, ' ').trim()).toBe(
          `name: ${name}-secrets, key: FIELD_ENCRYPTION_KEYS`,
        );
        // Beside API_KEY_PEPPER, once.
        expect(yaml.indexOf('- name: FIELD_ENCRYPTION_KEYS')).toBeGreaterThan(
          yaml.indexOf('- name: API_KEY_PEPPER'),
        );
        expect(yaml.split('FIELD_ENCRYPTION_KEYS').length - 1).toBe(2);
      }
      const lint = scratch.run(
        'pnpm',
        ['exec', 'biome', 'check', '--error-on-warnings', '.'],
        join(scratch.dir, 'apps', name),
      );
      expect(lint.code, lint.output).toBe(0);
    },
  );

  it('leaves the longest-named service, with its encrypted resource, typechecking', {
    timeout: 120_000,
  }, () => {
    const name = NAMES[0]!;
    const env = readFileSync(join(scratch.dir, 'apps', name, 'src/env.ts'), 'utf8');
    expect(env).toContain('FIELD_ENCRYPTION_KEYS');
    expect(existsSync(join(scratch.dir, 'apps', name, 'src/contacts/routes.ts'))).toBe(true);
    const typecheck = scratch.run(
      'pnpm',
      ['exec', 'tsc', '-p', 'tsconfig.json', '--noEmit'],
      join(scratch.dir, 'apps', name),
    );
    expect(typecheck.code, typecheck.output).toBe(0);
  });
});
