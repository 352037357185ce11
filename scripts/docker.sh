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
