import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

/**
 * The workspace's entry point, `./rampart` with `scripts/toolchain.sh`, run as the real scripts in a copy of
 * the workspace's root. The npm registry is the outside world: a stand-in `npm` on PATH logs what it was asked
 * for and installs a `node` that reports the version asked for and runs as this test's own, or a `pnpm` that
 * prints its pin. The
 * machine's Node is a stand-in too, so each case says which Node the machine has. PATH holds only these and
 * the few system tools the scripts use, so the machine's real Node and npm cannot leak in.
 */

const workspaceRoot = fileURLToPath(new URL('../../../', import.meta.url));
const toolchainText = readFileSync(join(workspaceRoot, 'scripts/toolchain.sh'), 'utf8');
const NODE_PIN = /RAMPART_NODE_VERSION="([^"]+)"/.exec(toolchainText)?.[1] as string;
const PNPM_PIN = /RAMPART_PNPM_VERSION="([^"]+)"/.exec(toolchainText)?.[1] as string;
// What the scripts use, and chmod for the stand-in npm.
const SYSTEM_TOOLS = ['bash', 'sh', 'dirname', 'ls', 'tr', 'mkdir', 'cat', 'env', 'chmod'];

let root: string;
let bin: string;
let npmLog: string;

function executable(path: string, text: string): void {
  writeFileSync(path, text);
  chmodSync(path, 0o755);
}

/** The machine's `node`: one that reports `major` (a stand-in), or this test's own Node. */
function machineNode(major: number | 'real'): void {
  if (major === 'real') symlinkSync(process.execPath, join(bin, 'node'));
  else
    executable(
      join(bin, 'node'),
      `#!/bin/sh\ncase "$1" in --version) echo v${major}.19.0 ;; -p) echo ${major} ;; *) exit 1 ;; esac\n`,
    );
}

/** The registry, through npm: `npm install --prefix <dir> ... <pkg>@<version>`. */
function machineNpm(): void {
  executable(
    join(bin, 'npm'),
    `#!/bin/sh
echo "$*" >> '${npmLog}'
prefix=""; spec=""
while [ $# -gt 0 ]; do
  case "$1" in --prefix) prefix="$2"; shift ;; node@*|pnpm@*) spec="$1" ;; esac
  shift
done
case "$spec" in
  node@*) mkdir -p "$prefix/node_modules/node/bin" && printf '#!/bin/sh\\n[ "$1" = --version ] && echo v%s && exit 0\\nexec %s "$@"\\n' "\${spec#node@}" '${process.execPath}' > "$prefix/node_modules/node/bin/node" && chmod +x "$prefix/node_modules/node/bin/node" ;;
  pnpm@*) mkdir -p "$prefix/node_modules/.bin" && printf '#!/bin/sh\\necho %s\\n' "\${spec#pnpm@}" > "$prefix/node_modules/.bin/pnpm" && chmod +x "$prefix/node_modules/.bin/pnpm" ;;
  *) exit 1 ;;
esac
`,
  );
}

function npmCalls(): string[] {
  return existsSync(npmLog) ? readFileSync(npmLog, 'utf8').trim().split('\n') : [];
}

function run(script: string, args: string[] = []) {
  return spawnSync(join(bin, 'bash'), [script, ...args], {
    cwd: root,
    env: { PATH: bin, HOME: root },
    encoding: 'utf8',
    timeout: 30_000,
  });
}

/** Sources toolchain.sh as ./rampart does, then says which node and pnpm it put first on PATH. */
function toolchain() {
  const probe = join(root, 'probe.sh');
  writeFileSync(
    probe,
    'source scripts/toolchain.sh\nrampart_toolchain "$PWD"\necho "node=$(command -v node) $(node --version)"\necho "pnpm=$(pnpm --version)"\n',
  );
  return run(probe);
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'rampart-entry-'));
  bin = join(root, 'machine-bin');
  npmLog = join(root, 'npm.log');
  mkdirSync(bin);
  for (const tool of SYSTEM_TOOLS) {
    const found = ['/usr/bin', '/bin'].map((dir) => join(dir, tool)).find((path) => existsSync(path));
    if (!found) throw new Error(`this test needs ${tool} in /usr/bin or /bin`);
    symlinkSync(found, join(bin, tool));
  }
  mkdirSync(join(root, 'scripts'));
  copyFileSync(join(workspaceRoot, 'rampart'), join(root, 'rampart'));
  copyFileSync(join(workspaceRoot, 'scripts/toolchain.sh'), join(root, 'scripts/toolchain.sh'));
  mkdirSync(join(root, 'apps/api'), { recursive: true });
  writeFileSync(join(root, 'apps/api/package.json'), '{"name":"@acme/api"}');
  mkdirSync(join(root, 'apps/orders'));
  writeFileSync(join(root, 'apps/orders/package.json'), '{"name":"@acme/orders"}');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('./rampart refuses a wrong command line before fetching or installing anything', () => {
  beforeEach(() => {
    machineNode(20);
    machineNpm();
  });

  it('no arguments: exit 2 with the usage', () => {
    const result = run('rampart');
    expect(result.status).toBe(2);
    expect(result.stderr).toBe('usage: ./rampart dev [app] | ./rampart test | ./rampart <pnpm args...>\n');
    expect(npmCalls()).toEqual([]);
    expect(existsSync(join(root, '.tools'))).toBe(false);
  });

  it('dev with a path instead of a service name: exit 2', () => {
    const result = run('rampart', ['dev', '../packages/db']);
    expect(result.status).toBe(2);
    expect(result.stderr).toBe(
      "rampart: '../packages/db' is not a service name (lowercase letters, digits and -)\n",
    );
    expect(npmCalls()).toEqual([]);
  });

  it('dev with a service that does not exist: exit 2, naming the services there are', () => {
    const result = run('rampart', ['dev', 'payments']);
    expect(result.status).toBe(2);
    expect(result.stderr).toBe('rampart: there is no service apps/payments (services: api orders )\n');
    expect(npmCalls()).toEqual([]);
    expect(existsSync(join(root, '.tools'))).toBe(false);
  });
});

describe('scripts/toolchain.sh', () => {
  it('on a machine with Node 20 fetches the pinned Node and pnpm from the registry, once', () => {
    machineNode(20);
    machineNpm();
    const first = toolchain();
    expect(first.stderr).toContain(
      `system Node is v20.19.0; fetching Node ${NODE_PIN} from the npm registry into .tools/node`,
    );
    expect(first.status).toBe(0);
    expect(first.stdout).toContain(`pnpm=${PNPM_PIN}\n`);
    expect(npmCalls().map((line) => line.split(' ').at(-1))).toEqual([
      `node@${NODE_PIN}`,
      `pnpm@${PNPM_PIN}`,
    ]);
    expect(npmCalls()[0]).toContain(`--prefix ${join(root, '.tools/node')}`);

    expect(first.stdout).toContain(
      `node=${join(root, '.tools/node/node_modules/node/bin/node')} v${NODE_PIN}\n`,
    );

    // What was fetched is used from .tools/ from then on: no second fetch of either.
    const second = toolchain();
    expect(second.status).toBe(0);
    expect(second.stderr).toBe('');
    expect(second.stdout).toBe(first.stdout);
    expect(npmCalls()).toHaveLength(2);
  });

  it('keeps the machine Node when it is supported (22 or newer) and fetches only pnpm', () => {
    machineNode('real');
    machineNpm();
    const result = toolchain();
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(`node=${join(bin, 'node')} ${process.version}`);
    expect(npmCalls().map((line) => line.split(' ').at(-1))).toEqual([`pnpm@${PNPM_PIN}`]);
    expect(existsSync(join(root, '.tools/node'))).toBe(false);
  });

  it('with Node 20 and no npm to fetch one: exit 1 with what to install', () => {
    machineNode(20);
    const result = toolchain();
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      `rampart: Node >= 22 is required and no npm was found to fetch it; install Node ${NODE_PIN}\n`,
    );
    expect(existsSync(join(root, '.tools'))).toBe(false);
  });

  it('when the registry gives no Node: exit 1 pointing at npm output', () => {
    machineNode(20);
    executable(join(bin, 'npm'), `#!/bin/sh\necho "$*" >> '${npmLog}'\necho 'npm error 404' >&2\n`);
    const result = toolchain();
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('npm error 404\n');
    expect(result.stderr).toContain(`rampart: fetching Node ${NODE_PIN} failed; see the npm output above\n`);
    expect(npmCalls()).toHaveLength(1);
  });
});
