#!/usr/bin/env bash
# Runs the Mend deployment with plain `docker run` (what deploy/compose.yaml describes, for hosts without
# docker-compose): Mend with the host's Docker socket and its group, the /data volume, a health check,
# restart policy `unless-stopped`, `--pid host` (the janitor decides whether a sandbox's owner is alive by
# its pid), PostgreSQL unless MEND_DATABASE_URL names one, and a first API key created once.
#
# Usage: deploy/run.sh up|down|restart|kill|logs|key|status
#   up       start (PostgreSQL first, then the first key if none was made, then Mend); waits until healthy
#   down     stop and remove the containers (volumes and the key file stay; `down --volumes` removes them)
#   restart  docker restart of Mend; kill: SIGKILL Mend's process (a crash) and wait for Docker to restart it
#   logs     Mend's log (docker logs -f); key: prints the saved first API key; status: health of each container
# Env:  MEND_IMAGE (mend:latest), MEND_POSTGRES_IMAGE (mend-postgres:latest), MEND_DEPLOY_NAME (mend),
#       MEND_DEPLOY_PORT (8080), MEND_DEPLOY_NETWORK (bridge: published on 127.0.0.1:PORT only; host: the
#       host's network, Mend on MEND_HOST, default 127.0.0.1), MEND_DEPLOY_STATE (~/.mend-deploy/NAME: the
#       key and the PostgreSQL password, mode 0600), MEND_DEPLOY_TENANT (admin), MEND_DEPLOY_ENV_FILE
#       (a docker --env-file for Mend), MEND_DATABASE_URL (an existing PostgreSQL; none is started then).
#       MEND_LLM_*, MEND_METRICS_TOKEN, MEND_SECRET_KEY, MEND_LOG_LEVEL, MEND_POOL_SIZE and OTEL_* pass through.
set -euo pipefail

NAME="${MEND_DEPLOY_NAME:-mend}"
IMAGE="${MEND_IMAGE:-mend:latest}"
PG_IMAGE="${MEND_POSTGRES_IMAGE:-mend-postgres:latest}"
PORT="${MEND_DEPLOY_PORT:-8080}"
NETWORK="${MEND_DEPLOY_NETWORK:-bridge}"
STATE="${MEND_DEPLOY_STATE:-$HOME/.mend-deploy/$NAME}"
TENANT="${MEND_DEPLOY_TENANT:-admin}"
SOCK="${MEND_DOCKER_SOCKET:-/var/run/docker.sock}"
NET="$NAME-net"
PG="$NAME-postgres"

log() { printf 'deploy: %s\n' "$*" >&2; }
die() {
  log "$*"
  exit 1
}
exists() { docker container inspect "$1" >/dev/null 2>&1; }
health() {
  docker container inspect --format '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' \
    "$1" 2>/dev/null | grep . || echo absent
}

wait_healthy() {
  local name="$1" deadline=$((SECONDS + ${MEND_DEPLOY_WAIT_S:-180}))
  while [ "$(health "$name")" != healthy ]; do
    [ $SECONDS -lt $deadline ] || {
      docker logs --tail 30 "$name" >&2 || true
      die "$name is not healthy after ${MEND_DEPLOY_WAIT_S:-180} s (state: $(health "$name"))"
    }
    sleep 1
  done
}

# Mend's environment: the database, the pass-through variables, the env file.
mend_env() {
  ENV_ARGS=(-e "MEND_DATABASE_URL=$DB_URL")
  local v
  while IFS= read -r v; do ENV_ARGS+=(-e "$v"); done < <(
    env | grep -E '^(MEND_(LLM_[A-Z_]+|METRICS_TOKEN|SECRET_KEY|LOG_LEVEL|POOL_SIZE|CONTAINER_SLOTS|SHUTDOWN_GRACE_MS)|OTEL_[A-Z_]+)=' || true
  )
  [ -z "${MEND_DEPLOY_ENV_FILE:-}" ] || ENV_ARGS+=(--env-file "$MEND_DEPLOY_ENV_FILE")
  if [ "$NETWORK" = host ]; then
    NET_ARGS=(--network host -e "MEND_HOST=${MEND_HOST:-127.0.0.1}" -e "MEND_PORT=$PORT")
  else
    NET_ARGS=(--network "$NET" --hostname "$NAME" -p "127.0.0.1:$PORT:8080")
  fi
}

start_postgres() {
  [ -z "${MEND_DATABASE_URL:-}" ] || {
    DB_URL="$MEND_DATABASE_URL"
    return
  }
  [ "$NETWORK" != host ] || die "MEND_DEPLOY_NETWORK=host needs MEND_DATABASE_URL (the bundled PostgreSQL is on the bridge network)"
  local pw_file="$STATE/postgres-password"
  [ -s "$pw_file" ] || (umask 077 && head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$pw_file")
  local pw
  pw="$(cat "$pw_file")"
  if ! exists "$PG"; then
    docker run -d --name "$PG" --network "$NET" --restart unless-stopped \
      -e POSTGRES_USER=mend -e "POSTGRES_PASSWORD=$pw" -e POSTGRES_DB=mend \
      -v "$NAME-pgdata:/var/lib/postgresql/data" "$PG_IMAGE" >/dev/null
  else
    docker start "$PG" >/dev/null
  fi
  wait_healthy "$PG"
  DB_URL="postgres://mend:$pw@$PG:5432/mend"
}

# The first API key, made once (the service refuses to listen beyond loopback without one).
first_key() {
  local key_file="$STATE/api-key"
  [ -s "$key_file" ] && return
  local out
  local net=(--network "$NET")
  [ "$NETWORK" != host ] || net=(--network host)
  out="$(docker run --rm "${ENV_ARGS[@]}" "${net[@]}" -v "$NAME-data:/data" "$IMAGE" \
    node dist/mend.js keys create --tenant "$TENANT")" || die "creating the first API key failed: $out"
  (umask 077 && printf '%s\n' "$out" | tail -n 1 >"$key_file")
  log "first API key of tenant \"$TENANT\" (printed once; saved to $key_file, mode 0600):"
  tail -n 1 "$key_file"
}

up() {
  mkdir -p "$STATE" && chmod 700 "$STATE"
  [ -S "$SOCK" ] || die "no Docker socket at $SOCK (set MEND_DOCKER_SOCKET)"
  docker image inspect "$IMAGE" >/dev/null 2>&1 || die "image $IMAGE is missing: run images/build-service"
  [ "$NETWORK" = host ] || docker network inspect "$NET" >/dev/null 2>&1 || docker network create "$NET" >/dev/null
  start_postgres
  mend_env
  first_key
  if exists "$NAME"; then
    docker start "$NAME" >/dev/null
  else
    docker run -d --name "$NAME" --restart unless-stopped --pid host \
      --group-add "$(stat -c %g "$SOCK")" -v "$SOCK:/var/run/docker.sock" -v "$NAME-data:/data" \
      "${ENV_ARGS[@]}" "${NET_ARGS[@]}" "$IMAGE" >/dev/null
  fi
  wait_healthy "$NAME"
  log "$NAME is healthy on http://127.0.0.1:$PORT (key: deploy/run.sh key)"
}

down() {
  local c left
  # SIGTERM first: Mend finishes or interrupts its steps and removes its sandbox and pool containers.
  exists "$NAME" && docker stop -t "${MEND_DEPLOY_STOP_S:-30}" "$NAME" >/dev/null
  for c in "$NAME" "$PG"; do exists "$c" && docker rm -f "$c" >/dev/null && log "removed $c"; done
  if [ "$NETWORK" != host ]; then
    # Left by a Mend that was killed (its host name is the deployment's own): nobody else would sweep them.
    left="$(docker ps -aq --filter label=mend=1 --filter "label=mend.owner.host=$NAME")"
    # shellcheck disable=SC2086 # one argument per container id
    [ -z "$left" ] || { docker rm -f $left >/dev/null && log "removed $(echo $left | wc -w) sandbox containers left by a killed Mend"; }
  fi
  docker network rm "$NET" >/dev/null 2>&1 || true
  if [ "${1:-}" = --volumes ]; then
    docker volume rm -f "$NAME-data" "$NAME-pgdata" >/dev/null
    rm -f "$STATE/api-key" "$STATE/postgres-password"
    log "removed the volumes and the saved key"
  fi
}

crash() {
  exists "$NAME" || die "$NAME is not running"
  local pid started
  pid="$(docker inspect --format '{{.State.Pid}}' "$NAME")"
  started="$(docker inspect --format '{{.State.StartedAt}}' "$NAME")"
  [ "$pid" -gt 0 ] || die "$NAME has no process"
  # From the host, as the OOM killer would: the restart policy applies (a `docker kill` is a manual stop).
  kill -KILL "$pid"
  local deadline=$((SECONDS + 60))
  until [ "$(docker inspect --format '{{.State.StartedAt}}' "$NAME")" != "$started" ]; do
    [ $SECONDS -lt $deadline ] || die "Docker did not restart $NAME within 60 s"
    sleep 0.5
  done
  wait_healthy "$NAME"
  log "$NAME was killed (pid $pid) and restarted by Docker; healthy again"
}

case "${1:-}" in
  up) up ;;
  down) down "${2:-}" ;;
  restart)
    docker restart "$NAME" >/dev/null
    wait_healthy "$NAME"
    ;;
  kill) crash ;;
  logs) docker logs -f "$NAME" ;;
  key) cat "$STATE/api-key" ;;
  status) for c in "$PG" "$NAME"; do printf '%s\t%s\n' "$c" "$(health "$c")"; done ;;
  *)
    sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
