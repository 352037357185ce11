# Sourced by setup: makes sure a Docker engine answers on the socket (installs docker.io, starts dockerd).
# Why: the container sandbox needs a real engine and fresh machines have at most the client.

docker_answers() {
  local sock="${MEND_DOCKER_SOCKET:-/var/run/docker.sock}"
  [ -S "$sock" ] && curl -sf --max-time 2 --unix-socket "$sock" http://localhost/_ping >/dev/null 2>&1
}

ensure_docker() {
  if docker_answers; then return 0; fi
  if ! command -v dockerd >/dev/null; then
    if [ "$(id -u)" != 0 ]; then
      echo "mend: dockerd is missing and installing it needs root (apt-get install docker.io)" >&2
      return 1
    fi
    echo "mend: installing docker.io and debootstrap from Debian" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq docker.io debootstrap >/dev/null
  fi
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
