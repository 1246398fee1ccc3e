#!/usr/bin/env bash
# The local stack: a PostgreSQL cluster and a Redis server under a project-local state
# directory, on local ports. Writes $STATE/env for the other scripts to source.
#   scripts/stack.sh up|down|status|env
# Settings (environment): FLEETCOST_STATE (default <repo>/.fleetcost),
# FLEETCOST_PG_PORT (55432), FLEETCOST_REDIS_PORT (56379).
# `down` stops only what `up` started (it goes by the pid files in the state directory).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
state=${FLEETCOST_STATE:-$root/.fleetcost}
pg_port=${FLEETCOST_PG_PORT:-55432}
redis_port=${FLEETCOST_REDIS_PORT:-56379}
pg_bin=${FLEETCOST_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}

mkdir -p "$state"
state=$(cd "$state" && pwd)

# PostgreSQL refuses to run as root: as root we run it as the 'postgres' user, whose
# data directory must then be reachable by that user. When the checkout is not (a home
# directory with mode 700, say), the cluster lives under /var/tmp instead.
if [ "$(id -u)" -eq 0 ]; then
  as_pg=(runuser -u postgres --)
  if runuser -u postgres -- test -x "$state" 2>/dev/null; then
    pg_dir=$state/pg
  else
    pg_dir=/var/tmp/fleetcost-pg-$(echo "$state" | md5sum | cut -c1-8)
  fi
else
  as_pg=()
  pg_dir=$state/pg
fi
pg_data=$pg_dir/data
pg_sock=$pg_dir/run
pg_log=$state/postgres.log
redis_dir=$state/redis

pg_running() {
  [ -f "$pg_data/postmaster.pid" ] && "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_data" status >/dev/null 2>&1
}
redis_running() {
  [ -f "$redis_dir/redis.pid" ] && kill -0 "$(cat "$redis_dir/redis.pid")" 2>/dev/null
}
psql_admin() {
  "$pg_bin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pg_port" -U postgres "$@"
}

write_env() {
  cat >"$state/env" <<ENV
# written by scripts/stack.sh; source it
export FLEETCOST_STATE='$state'
export FLEETCOST_PG_BIN='$pg_bin'
export FLEETCOST_PG_PORT='$pg_port'
export FLEETCOST_REDIS_PORT='$redis_port'
export FLEETCOST_PG_URL='postgresql://fleetcost@127.0.0.1:$pg_port/fleetcost'
export FLEETCOST_PG_ADMIN_URL='postgresql://postgres@127.0.0.1:$pg_port/postgres'
export FLEETCOST_PG_READER_URL='postgresql://fleetcost_reporter@127.0.0.1:$pg_port/fleetcost'
export FLEETCOST_REDIS_URL='redis://127.0.0.1:$redis_port/0'
ENV
}

pg_up() {
  if [ ! -f "$pg_data/PG_VERSION" ]; then
    mkdir -p "$pg_dir"
    [ ${#as_pg[@]} -gt 0 ] && chown postgres: "$pg_dir"
    "${as_pg[@]}" "$pg_bin/initdb" -D "$pg_data" -U postgres -A trust -E UTF8 \
      --locale=C.UTF-8 --no-sync >"$state/initdb.log" 2>&1 ||
      { cat "$state/initdb.log" >&2; exit 1; }
    cat >>"$pg_data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
max_connections = 200
shared_buffers = 512MB
wal_level = minimal
max_wal_senders = 0
max_wal_size = 4GB
checkpoint_timeout = 15min
CONF
  fi
  if ! pg_running; then
    mkdir -p "$pg_sock"
    [ ${#as_pg[@]} -gt 0 ] && chown postgres: "$pg_sock"
    touch "$pg_log"
    [ ${#as_pg[@]} -gt 0 ] && chown postgres: "$pg_log"
    "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_data" -l "$pg_log" -w -t 60 \
      -o "-p $pg_port -k $pg_sock" start >/dev/null
  fi
  # Roles and database. The owner role runs migrations and services; the reader role
  # owns nothing and sees tenant rows only through row-level security.
  psql_admin -d postgres <<'SQL'
SELECT 'CREATE ROLE fleetcost LOGIN CREATEROLE'
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'fleetcost') \gexec
SELECT 'CREATE ROLE fleetcost_reader NOLOGIN'
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'fleetcost_reader') \gexec
SELECT 'CREATE ROLE fleetcost_reporter LOGIN IN ROLE fleetcost_reader'
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'fleetcost_reporter') \gexec
SELECT 'CREATE DATABASE fleetcost OWNER fleetcost'
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'fleetcost') \gexec
SQL
}

redis_up() {
  mkdir -p "$redis_dir"
  if ! redis_running; then
    redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$redis_dir" \
      --daemonize yes --pidfile "$redis_dir/redis.pid" --logfile "$redis_dir/redis.log" \
      --save "" --appendonly no >/dev/null
    for _ in $(seq 1 100); do
      redis-cli -p "$redis_port" ping >/dev/null 2>&1 && return 0
      sleep 0.1
    done
    echo "stack: redis did not answer on port $redis_port" >&2
    exit 1
  fi
}

case "${1:-status}" in
  up)
    pg_up
    redis_up
    write_env
    echo "stack: up (postgres 127.0.0.1:$pg_port, redis 127.0.0.1:$redis_port, env $state/env)"
    ;;
  down)
    if pg_running; then "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_data" -m fast -w stop >/dev/null; fi
    if redis_running; then
      redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || kill "$(cat "$redis_dir/redis.pid")"
      for _ in $(seq 1 50); do redis_running || break; sleep 0.1; done
    fi
    echo "stack: down"
    ;;
  status)
    pg_running && echo "postgres: running on 127.0.0.1:$pg_port ($pg_data)" || echo "postgres: stopped"
    redis_running && echo "redis: running on 127.0.0.1:$redis_port" || echo "redis: stopped"
    ;;
  env)
    write_env
    cat "$state/env"
    ;;
  *)
    echo "usage: $0 up|down|status|env" >&2
    exit 2
    ;;
esac
