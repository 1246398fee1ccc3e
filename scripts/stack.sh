#!/usr/bin/env bash
# The local stack: a PostgreSQL cluster and a Redis server for this clone, on local
# ports. Writes $STATE/env for the other scripts to source.
#   scripts/stack.sh up|down|status|env|purge
# Settings (environment): FLEETCOST_STATE (default <repo>/.fleetcost),
# FLEETCOST_PG_PORT (55432), FLEETCOST_REDIS_PORT (56379).
# `down` stops only what `up` started (it goes by the pid files of this clone's stack);
# `purge` is `down` and then removes the cluster's data and Redis's directory.
#
# Where things live. The state directory holds env, Redis (its data, pid file, log) and
# pg.dir, a one-line record of where the PostgreSQL cluster is. The cluster (data/, its
# log postgres.log, the socket directory run/) is $STATE/pg when the postgres user can
# reach it and its path is plain (letters, digits, / . _ + -, at most 80 characters: the
# server's options are a shell string and a Unix socket path is at most 107 bytes).
# Otherwise -- a clone under /root (mode 0700), under a 0700 directory, on a path with
# spaces -- it is /var/tmp/fleetcost-pg-<md5 of the state path, 8 hex digits>: stable for a clone,
# distinct between clones. $STATE/postgres.log then links to its log.
#
# Two clones on one machine: each has its own cluster and Redis directory, but the ports
# default to the same numbers; `up` finds a port taken by another process (another
# clone's stack, say), names its owner and working directory, and stops, rather than
# choosing other ports silently (the env file, the README and the tests would then
# disagree about where the stack is). Give the second clone FLEETCOST_PG_PORT and
# FLEETCOST_REDIS_PORT.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
state=${FLEETCOST_STATE:-$root/.fleetcost}
pg_port=${FLEETCOST_PG_PORT:-55432}
redis_port=${FLEETCOST_REDIS_PORT:-56379}
pg_bin=${FLEETCOST_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}

die() {
  echo "stack: $*" >&2
  exit 1
}
[ -x "$pg_bin/pg_ctl" ] || die "no PostgreSQL binaries in '$pg_bin' (scripts/deps.sh installs postgresql)"

mkdir -p "$state" 2>/dev/null ||
  die "cannot create the state directory $state (a read-only checkout?): point" \
    "FLEETCOST_STATE (and FLEETCOST_BUILD, for the build) at writable directories"
state=$(cd "$state" && pwd)

# PostgreSQL refuses to run as root: as root we run it as the 'postgres' user.
if [ "$(id -u)" -eq 0 ]; then
  as_pg=(runuser -u postgres --)
else
  as_pg=()
fi

# Where the cluster lives (see the top): what pg.dir says, else the rule.
pg_dir_for() {
  local local_dir=$state/pg
  if { [ ${#as_pg[@]} -eq 0 ] || "${as_pg[@]}" test -x "$state" 2>/dev/null; } &&
    # (a cluster already there, made before this rule, stays where it is)
    { [ -f "$local_dir/data/PG_VERSION" ] ||
      { [[ "$local_dir" =~ ^[A-Za-z0-9/._+-]+$ ]] && [ ${#local_dir} -le 80 ]; }; }; then
    echo "$local_dir"
  else
    echo "/var/tmp/fleetcost-pg-$(printf '%s' "$state" | md5sum | cut -c1-8)"
  fi
}
if [ -s "$state/pg.dir" ]; then
  pg_dir=$(cat "$state/pg.dir")
else
  pg_dir=$(pg_dir_for)
fi
pg_data=$pg_dir/data
pg_sock=$pg_dir/run
pg_log=$pg_dir/postgres.log
redis_dir=$state/redis

# PostgreSQL's programs, as the postgres user, from / (the caller's directory may be
# one that user cannot enter).
as_postgres() { (cd / && "${as_pg[@]}" "$@"); }

pg_running() {
  [ -f "$pg_data/postmaster.pid" ] && as_postgres "$pg_bin/pg_ctl" -D "$pg_data" status >/dev/null 2>&1
}
pg_running_port() { sed -n 4p "$pg_data/postmaster.pid" 2>/dev/null; }
redis_pid() { cat "$redis_dir/redis.pid" 2>/dev/null; }
redis_running() {
  local pid
  pid=$(redis_pid) && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null &&
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q redis-server
}
redis_running_port() {
  tr '\0' ' ' <"/proc/$(redis_pid)/cmdline" 2>/dev/null | grep -o ':[0-9]*' | head -n 1 | tr -d :
}
psql_admin() {
  "$pg_bin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pg_port" -U postgres "$@"
}

# Who listens on 127.0.0.1:<port>: "<program> (pid N, in <its working directory>)";
# nothing when the port is free. A PostgreSQL server's working directory is its data
# directory and our Redis's is its --dir, so this names the clone that holds the port.
port_owner() {
  local port=$1 line pid
  line=$(ss -ltnpH "sport = :$port" 2>/dev/null | head -n 1)
  [ -n "$line" ] || return 0
  pid=$(grep -o 'pid=[0-9]*' <<<"$line" | head -n 1 | cut -d= -f2)
  if [ -n "$pid" ]; then
    echo "$(cat "/proc/$pid/comm" 2>/dev/null) (pid $pid, in $(readlink "/proc/$pid/cwd" 2>/dev/null || echo '?'))"
  else
    echo "another user's process"
  fi
}
port_free_or_die() { # <port> <what> <variable>
  local owner
  owner=$(port_owner "$1")
  [ -z "$owner" ] && return 0
  die "port $1 for $2 is taken by $owner -- another clone's stack? Stop it there" \
    "(scripts/stack.sh down) or give this clone other ports: $3=<port> (and the same" \
    "variable for every later stack.sh, test.sh and demo.sh of this clone)"
}

write_env() {
  {
    echo "# written by scripts/stack.sh; source it"
    printf 'export FLEETCOST_STATE=%q\n' "$state"
    printf 'export FLEETCOST_PG_BIN=%q\n' "$pg_bin"
    cat <<ENV
export FLEETCOST_PG_PORT='$pg_port'
export FLEETCOST_REDIS_PORT='$redis_port'
export FLEETCOST_PG_URL='postgresql://fleetcost@127.0.0.1:$pg_port/fleetcost'
export FLEETCOST_PG_ADMIN_URL='postgresql://postgres@127.0.0.1:$pg_port/postgres'
export FLEETCOST_PG_READER_URL='postgresql://fleetcost_reporter@127.0.0.1:$pg_port/fleetcost'
export FLEETCOST_REDIS_URL='redis://127.0.0.1:$redis_port/0'
ENV
  } >"$state/env"
}

pg_up() {
  if [ ! -f "$pg_data/PG_VERSION" ]; then
    mkdir -p "$pg_dir"
    chmod 755 "$pg_dir"
    [ ${#as_pg[@]} -gt 0 ] && chown postgres: "$pg_dir"
    as_postgres "$pg_bin/initdb" -D "$pg_data" -U postgres -A trust -E UTF8 \
      --locale=C.UTF-8 --no-sync >"$state/initdb.log" 2>&1 ||
      { cat "$state/initdb.log" >&2; die "initdb failed in $pg_data"; }
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
  echo "$pg_dir" >"$state/pg.dir"
  [ "$pg_dir" = "$state/pg" ] || ln -sfn "$pg_log" "$state/postgres.log"
  if pg_running; then
    [ "$(pg_running_port)" = "$pg_port" ] ||
      die "this clone's PostgreSQL already runs on port $(pg_running_port), not $pg_port:" \
        "use FLEETCOST_PG_PORT=$(pg_running_port), or scripts/stack.sh down first"
  else
    port_free_or_die "$pg_port" PostgreSQL FLEETCOST_PG_PORT
    mkdir -p "$pg_sock"
    [ ${#as_pg[@]} -gt 0 ] && chown postgres: "$pg_sock"
    as_postgres "$pg_bin/pg_ctl" -D "$pg_data" -l "$pg_log" -w -t 60 \
      -o "-p $pg_port -k $pg_sock" start >/dev/null ||
      { tail -n 20 "$pg_log" >&2; die "PostgreSQL did not start (log: $pg_log)"; }
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
  if redis_running; then
    [ "$(redis_running_port)" = "$redis_port" ] ||
      die "this clone's Redis already runs on port $(redis_running_port), not $redis_port:" \
        "use FLEETCOST_REDIS_PORT=$(redis_running_port), or scripts/stack.sh down first"
    return 0
  fi
  port_free_or_die "$redis_port" Redis FLEETCOST_REDIS_PORT
  redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$redis_dir" \
    --daemonize yes --pidfile "$redis_dir/redis.pid" --logfile "$redis_dir/redis.log" \
    --save "" --appendonly no >/dev/null
  for _ in $(seq 1 100); do
    redis-cli -p "$redis_port" ping >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  die "redis did not answer on port $redis_port (log: $redis_dir/redis.log)"
}

stack_down() {
  if pg_running; then as_postgres "$pg_bin/pg_ctl" -D "$pg_data" -m fast -w stop >/dev/null; fi
  # By pid, not by port: the port may belong to another clone's Redis.
  if redis_running; then
    kill -TERM "$(redis_pid)"
    for _ in $(seq 1 50); do redis_running || break; sleep 0.1; done
  fi
}

case "${1:-status}" in
  up)
    # Both ports first, so that a taken Redis port does not leave PostgreSQL started.
    pg_running || port_free_or_die "$pg_port" PostgreSQL FLEETCOST_PG_PORT
    redis_running || port_free_or_die "$redis_port" Redis FLEETCOST_REDIS_PORT
    pg_up
    redis_up
    write_env
    echo "stack: up (postgres 127.0.0.1:$pg_port, data $pg_data; redis 127.0.0.1:$redis_port; env $state/env)"
    ;;
  down)
    stack_down
    echo "stack: down"
    ;;
  status)
    if pg_running; then
      echo "postgres: running on 127.0.0.1:$(pg_running_port) ($pg_data, log $pg_log)"
    else
      echo "postgres: stopped ($pg_data)"
    fi
    if redis_running; then
      echo "redis: running on 127.0.0.1:$(redis_running_port) (pid $(redis_pid), $redis_dir)"
    else
      echo "redis: stopped"
    fi
    ;;
  env)
    write_env
    cat "$state/env"
    ;;
  purge)
    stack_down
    # Only a directory this script names (pg.dir could have been edited by hand).
    case "$pg_dir" in
      "$state/pg" | /var/tmp/fleetcost-pg-*) rm -rf "$pg_dir" ;;
      *) die "not removing $pg_dir: not a directory stack.sh would choose" ;;
    esac
    rm -rf "$redis_dir" "$state/pg.dir" "$state/postgres.log" "$state/initdb.log"
    echo "stack: down, removed $pg_dir and $redis_dir"
    ;;
  *)
    echo "usage: $0 up|down|status|env|purge" >&2
    exit 2
    ;;
esac
