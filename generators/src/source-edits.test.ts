import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isGenError } from './errors.ts';
import { encryptionKeyRing, type ResourceNames, registerRoutes } from './resource-edits.ts';
import { registerTask } from './task-generator.ts';
import type { Workspace } from './workspace.ts';

const apiSrc = new URL('../../apps/api/src/', import.meta.url);
const names: ResourceNames = {
  service: 'api',
  name: 'refunds',
  camel: 'refunds',
  pascal: 'Refunds',
  notFoundCode: 'RAMPART_API_REFUNDS_NOT_FOUND',
  hasEncrypted: true,
};

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return isGenError(error) ? `${error.code}: ${error.message}` : String(error);
  }
  return undefined;
}

// The edits find their spot by the shape the service template gives each file: on apps/api's own files
// they work; on a file edited past recognition they fail naming the file, never guessing.
describe('edits of a service the generator did not just write', () => {
  let root: string;
  let workspace: Workspace;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'rampart-edits-'));
    cpSync(apiSrc, join(root, 'apps/api/src'), { recursive: true });
    workspace = { root, scope: '@rampart', packages: [], apps: ['api'], packageNames: new Map() };
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it("extend apps/api's files as they are", () => {
    expect(registerTask(workspace, 'api', 'settle').content).toContain('createSettleTask(database)];');
    expect(registerRoutes(workspace, names).content).toContain(
      "await app.register(refundsRoutes, { prefix: '/refunds', env });",
    );
    const [env, envTest] = encryptionKeyRing(workspace, 'api');
    expect(env!.content).toContain('FIELD_ENCRYPTION_KEYS: Type.Optional(');
    expect(env!.content).toContain('const SECRET = /PEPPER|TOKEN|URL|KEYS/;');
    // The production environment the env test parses needs the key ring now too.
    expect(envTest).toMatchObject({ path: 'apps/api/src/env.test.ts' });
    expect(envTest!.content).toContain("API_KEY_PEPPER: 'x'.repeat(32), FIELD_ENCRYPTION_KEYS: `1:");
  });

  it('fail with RAMPART_GEN_ANCHOR_MISSING on files without the spot', () => {
    writeFileSync(
      join(root, 'apps/api/src/tasks.ts'),
      "import { tasks } from './list.ts';\nexport function createTasks(database) {\n  return tasks;\n}\n",
    );
    expect(codeOf(() => registerTask(workspace, 'api', 'settle'))).toMatch(
      /^RAMPART_GEN_ANCHOR_MISSING: apps\/api\/src\/tasks.ts no longer has a `return \[...\]` list in createTasks/,
    );
    writeFileSync(join(root, 'apps/api/src/app.ts'), "import x from 'y';\nexport const app = x;\n");
    expect(codeOf(() => registerRoutes(workspace, names))).toMatch(
      /^RAMPART_GEN_ANCHOR_MISSING: apps\/api\/src\/app.ts no longer has buildApp's `return app;`[\s\S]*refundsRoutes/,
    );
    writeFileSync(join(root, 'apps/api/src/env.ts'), 'export const env = process.env;\n');
    expect(codeOf(() => encryptionKeyRing(workspace, 'api'))).toMatch(
      /^RAMPART_GEN_ANCHOR_MISSING: apps\/api\/src\/env.ts no longer has an `export const EnvSchema/,
    );
    rmSync(join(root, 'apps/api/src/tasks.ts'));
    expect(codeOf(() => registerTask(workspace, 'api', 'settle'))).toMatch(/^RAMPART_GEN_TARGET_MISSING/);
  });
});
