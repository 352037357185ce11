# A throwaway PostgreSQL cluster for the test suites and benchmarks (own data dir, loopback port, no system
# service). Why: the PostgreSQL store is tested against a real server, and fresh machines have none running.
#
# Sourced (by ./scripts/test): installs Debian's postgresql when missing, starts a cluster under /tmp,
#   exports TEST_POSTGRES_URL and stops the cluster when the sourcing shell exits.
# Executed:  scripts/postgres.sh start DIR [-c name=value ...]   prints the URL of a new cluster in DIR
#            scripts/postgres.sh stop DIR [fast|immediate]         stops it (the files stay; rm -rf DIR after)
#            scripts/postgres.sh resume DIR                        starts a stopped one again (same port)
# postgres refuses to run as root: as root the cluster belongs to the `postgres` user the package creates.

mend_pg_bin() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$d" ] && [ -x "$d/initdb" ] && echo "$d"
}

mend_pg_install() {
  [ -n "$(mend_pg_bin)" ] && return 0
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "mend: PostgreSQL is not installed and installing it needs root and apt-get (apt-get install postgresql)" >&2
    return 1
  fi
  echo "mend: installing postgresql from Debian" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends postgresql >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends postgresql >/dev/null; }
  [ -n "$(mend_pg_bin)" ]
}

# Runs a command as the cluster's owner (the caller itself, or `postgres` when the caller is root).
mend_pg_as_owner() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

mend_pg_free_port() {
  node -e 'const s = require("node:net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })'
}

# mend_pg_start DIR [-c name=value ...]: initdb + start; prints postgres://mend@127.0.0.1:PORT/postgres
mend_pg_start() {
  local dir="$1"
  shift
  local bin port
  bin=$(mend_pg_bin) || {
    echo "mend: no PostgreSQL binaries under /usr/lib/postgresql" >&2
    return 1
  }
  mkdir -p "$dir"
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
    chown postgres "$dir"
    chmod 0700 "$dir"
  fi
  mend_pg_as_owner "$bin/initdb" -D "$dir/data" -U mend --auth=trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 || {
    echo "mend: initdb failed (see $dir/initdb.log)" >&2
    tail -n 5 "$dir/initdb.log" >&2
    return 1
  }
  port=$(mend_pg_free_port)
  local opts="-k $dir -p $port -c listen_addresses=127.0.0.1 -c max_connections=200"
  for a in "$@"; do opts="$opts $a"; done
  echo "$opts" >"$dir/options"
  mend_pg_resume "$dir" || return 1
  echo "postgres://mend@127.0.0.1:$port/postgres"
}

# mend_pg_resume DIR: starts a cluster made by mend_pg_start again, with the same port and options.
mend_pg_resume() {
  local bin
  bin=$(mend_pg_bin) || return 1
  mend_pg_as_owner "$bin/pg_ctl" -D "$1/data" status >/dev/null 2>&1 && return 0
  mend_pg_as_owner "$bin/pg_ctl" -D "$1/data" -o "$(cat "$1/options")" -l "$1/postgres.log" -w -t 60 start >/dev/null || {
    echo "mend: PostgreSQL did not start (see $1/postgres.log)" >&2
    tail -n 5 "$1/postgres.log" >&2
    return 1
  }
}

# mend_pg_stop DIR [fast|immediate]
mend_pg_stop() {
  local bin
  bin=$(mend_pg_bin) || return 0
  [ -f "$1/data/postmaster.pid" ] || return 0
  mend_pg_as_owner "$bin/pg_ctl" -D "$1/data" -m "${2:-fast}" -w stop >/dev/null 2>&1 || true
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  # Executed.
  set -euo pipefail
  case "${1:-}" in
  start)
    shift
    mend_pg_install
    mend_pg_start "$@"
    ;;
  stop) mend_pg_stop "$2" "${3:-fast}" ;;
  resume) mend_pg_resume "$2" ;;
  *)
    echo "usage: scripts/postgres.sh start DIR [-c name=value ...] | stop DIR [fast|immediate] | resume DIR" >&2
    exit 2
    ;;
  esac
else
  # Sourced: one cluster for the whole test run (fsync off: a test cluster never outlives a power cut).
  if mend_pg_install; then
    MEND_PG_DIR=$(mktemp -d /tmp/mend-pg.XXXXXX)
    if TEST_POSTGRES_URL=$(mend_pg_start "$MEND_PG_DIR" -c fsync=off -c synchronous_commit=off); then
      export TEST_POSTGRES_URL
      echo "mend: PostgreSQL for the test suites at $TEST_POSTGRES_URL" >&2
      trap 'mend_pg_stop "$MEND_PG_DIR"; rm -rf "$MEND_PG_DIR"' EXIT
    else
      echo "mend: PostgreSQL could not be started; the PostgreSQL suites will be skipped" >&2
      unset TEST_POSTGRES_URL
    fi
  else
    echo "mend: PostgreSQL is not available; the PostgreSQL suites will be skipped" >&2
  fi
fi
