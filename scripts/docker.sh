# Sourced by setup: makes sure a Docker engine answers on the socket (installs docker.io, starts dockerd).
# Why: the container sandbox needs a real engine and fresh machines have at most the client.

docker_answers() {
  local sock="${MEND_DOCKER_SOCKET:-/var/run/docker.sock}"
  [ -S "$sock" ] && command -v docker >/dev/null &&
    DOCKER_HOST="unix://$sock" timeout 5 docker version --format '{{.Server.Version}}' >/dev/null 2>&1
}

# Installs what the sandbox needs from Debian (the engine, debootstrap for the offline image build, and
# docker-compose for the compose deployment).
ensure_host_packages() {
  local missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  # docker-compose 1.29: deploy/compose.yaml and its test (test/deploy/compose.test.ts)
  command -v docker-compose >/dev/null || missing+=(docker-compose)
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then
    echo "mend: ${missing[*]} missing and installing needs root (apt-get install ${missing[*]})" >&2
    return 1
  fi
  echo "mend: installing ${missing[*]} from Debian" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq "${missing[@]}" >/dev/null
}

ensure_docker() {
  ensure_host_packages
  if docker_answers; then return 0; fi
  if ! docker_answers; then
    mkdir -p "$MEND_ROOT/data"
    echo "mend: starting dockerd (log: data/dockerd.log)" >&2
    nohup dockerd >"$MEND_ROOT/data/dockerd.log" 2>&1 &
    for _ in $(seq 1 60); do
      docker_answers && return 0
      sleep 0.5
    done
    echo "mend: dockerd did not answer within 30 s; see data/dockerd.log" >&2
    tail -n 20 "$MEND_ROOT/data/dockerd.log" >&2
    return 1
  fi
}

# gVisor tier: installs Debian's runsc and registers it with the engine as runtime `runsc`, or logs one
# line saying why not (the runc tier works without it). `--network=none` because gVisor's own network
# stack cannot attach to a `--network none` container on this engine; `--oci-seccomp` so Mend's seccomp
# profile applies inside the sandbox too. A running dockerd reloads its runtimes on SIGHUP, so setup
# never restarts an engine other work is using.
MEND_RUNSC_ARGS='["--network=none","--oci-seccomp"]'

runsc_registered() {
  docker info --format '{{json .Runtimes}}' 2>/dev/null | grep -q '"runsc"'
}

ensure_runsc() {
  if [ "${MEND_SKIP_RUNSC:-}" = 1 ]; then
    echo "mend: gVisor (runsc) skipped: MEND_SKIP_RUNSC=1" >&2
    return 0
  fi
  if ! command -v runsc >/dev/null; then
    if [ "$(id -u)" != 0 ]; then
      echo "mend: gVisor (runsc) not installed and installing needs root (apt-get install runsc); containers run on runc only" >&2
      return 0
    fi
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-cache show runsc >/dev/null 2>&1; then apt-get update -qq >/dev/null 2>&1 || true; fi
    if ! apt-cache show runsc >/dev/null 2>&1 || ! apt-get install -y -qq runsc >/dev/null 2>&1; then
      echo "mend: gVisor (runsc) not available from this machine's Debian sources; containers run on runc only" >&2
      return 0
    fi
  fi
  local bin daemon_json=/etc/docker/daemon.json
  bin="$(command -v runsc)"
  if ! "$bin" --version >/dev/null 2>&1; then
    echo "mend: gVisor (runsc) installed but does not run here ($bin --version failed); containers run on runc only" >&2
    return 0
  fi
  if [ "$(id -u)" != 0 ] || ! mkdir -p /etc/docker 2>/dev/null; then
    echo "mend: gVisor (runsc) not registered: writing $daemon_json needs root" >&2
    return 0
  fi
  # merge, keeping whatever else the file holds
  RUNSC_BIN="$bin" RUNSC_ARGS="$MEND_RUNSC_ARGS" DAEMON_JSON="$daemon_json" node -e '
    const fs = require("node:fs");
    const file = process.env.DAEMON_JSON;
    let cfg = {};
    try { cfg = JSON.parse(fs.readFileSync(file, "utf8")); } catch (e) { if (e.code !== "ENOENT") throw e; }
    const want = { path: process.env.RUNSC_BIN, runtimeArgs: JSON.parse(process.env.RUNSC_ARGS) };
    cfg.runtimes = cfg.runtimes || {};
    if (JSON.stringify(cfg.runtimes.runsc) === JSON.stringify(want)) process.exit(0);
    cfg.runtimes.runsc = want;
    fs.writeFileSync(file + ".tmp", JSON.stringify(cfg, null, 2) + "\n");
    fs.renameSync(file + ".tmp", file);
  ' || {
    echo "mend: gVisor (runsc) not registered: could not update $daemon_json" >&2
    return 0
  }
  if runsc_registered; then return 0; fi
  local pid
  pid="$(pidof dockerd 2>/dev/null | awk '{print $1}' || true)"
  if [ -n "$pid" ]; then
    kill -HUP "$pid"
    for _ in $(seq 1 20); do
      runsc_registered && break
      sleep 0.5
    done
  fi
  if runsc_registered; then
    echo "mend: gVisor (runsc) registered with the Docker engine as runtime runsc" >&2
  else
    echo "mend: gVisor (runsc) written to $daemon_json but the engine does not list it yet (reload dockerd)" >&2
  fi
}
