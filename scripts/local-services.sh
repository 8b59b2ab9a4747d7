#!/usr/bin/env bash
# Debian's Redis and PostgreSQL on 127.0.0.1 only, for `make run-scaled` and the scale tests
# (tests/scaled). Data, configuration, logs and pid files live under SERVICES_DIR; nothing of
# the system's own instances (6379, 5432) is used or touched.
#
#   scripts/local-services.sh install                   apt-get what is missing
#   scripts/local-services.sh start [redis|postgres|all] start (a no-op when already running)
#   scripts/local-services.sh stop  [redis|postgres|all]
#   scripts/local-services.sh status                    exit 0 only when both answer
#   scripts/local-services.sh urls                      REDIS_URL=… and DATABASE_URL=… lines
#
# Environment: SERVICES_DIR (default var/services under the repository), REDIS_PORT (6380),
# PG_PORT (5433), WAIT_SECONDS (30: how long any start or stop may take).
#
# PostgreSQL refuses to run as root: as root, initdb, pg_ctl and psql run as Debian's
# `postgres` OS user, which must be able to reach SERVICES_DIR (every parent folder
# searchable by others, o+x). Clients connect over TCP to the database `assistant` as the role
# `assistant` (scram-sha-256), with a password made once into SERVICES_DIR/postgres.password.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SERVICES_DIR="${SERVICES_DIR:-$repo/var/services}"
REDIS_PORT="${REDIS_PORT:-6380}"
PG_PORT="${PG_PORT:-5433}"
WAIT_SECONDS="${WAIT_SECONDS:-30}"
HOST=127.0.0.1
PG_DB=assistant
PG_ROLE=assistant

# Absolute, for the server's configuration; made only by a start.
case "$SERVICES_DIR" in /*) ;; *) SERVICES_DIR="$PWD/$SERVICES_DIR" ;; esac
redis_dir="$SERVICES_DIR/redis"
pg_data="$SERVICES_DIR/postgres"
# Socket and log beside the data folder, owned by the server's user: Debian's
# /var/run/postgresql may not exist (a container, a fresh machine) and belongs to the system's
# own cluster.
pg_run="$SERVICES_DIR/postgres-run"
pg_log="$pg_run/postgres.log"
pg_password_file="$SERVICES_DIR/postgres.password"

say() { echo "local-services: $*"; }
die() { echo "local-services: $*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

pg_bin() {
  # The newest installed server version (Debian keeps its binaries off PATH).
  local dir
  dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  [ -n "$dir" ] && [ -x "$dir/pg_ctl" ] || die "the PostgreSQL server is not installed: run $0 install first"
  echo "$dir"
}

# The OS user PostgreSQL runs as: `postgres` when we are root, ourselves otherwise.
pg_user() {
  if [ "$(id -u)" -eq 0 ]; then echo postgres; else id -un; fi
}

as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Show the end of a log and fail: every failed wait ends here.
fail_with_log() {
  local what="$1" log="$2"
  echo "local-services: $what" >&2
  if [ -f "$log" ]; then
    echo "--- last lines of $log ---" >&2
    tail -n 30 "$log" >&2 || true
  fi
  exit 1
}

# wait_for SECONDS COMMAND…: poll every 0.2 s until COMMAND succeeds; false after SECONDS.
wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

not() { ! "$@"; }

# Something accepts connections on this loopback port (bash's /dev/tcp, no other tool needed).
port_in_use() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# ---------------------------------------------------------------- install

cmd_install() {
  local packages=()
  command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1 \
    || packages+=(redis-server)
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && command -v pg_isready >/dev/null 2>&1 \
    || packages+=(postgresql)
  if [ ${#packages[@]} -eq 0 ]; then
    say "redis-server and postgresql are installed"
    return
  fi
  as_root apt-get update
  # Debian starts a package's service on install (Redis on 6379, a cluster on 5432); these
  # servers are started by this script, so a policy saying "do not start" is put in place
  # for the install when the machine has none.
  local policy=/usr/sbin/policy-rc.d added_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
    as_root chmod 755 "$policy"
    added_policy=1
  fi
  say "installing: ${packages[*]}"
  local status=0
  as_root env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${packages[@]}" || status=$?
  [ "$added_policy" -eq 0 ] || as_root rm -f "$policy"
  return "$status"
}

# ---------------------------------------------------------------- Redis

redis_ping() { redis-cli -h "$HOST" -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; }

redis_pid() {
  local pid
  [ -f "$redis_dir/redis.pid" ] || return 1
  pid="$(cat "$redis_dir/redis.pid")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

redis_start() {
  command -v redis-server >/dev/null 2>&1 || die "redis-server is not installed: run $0 install first"
  if redis_pid >/dev/null && redis_ping; then
    say "redis already running on $HOST:$REDIS_PORT"
    return
  fi
  # Another server there would answer our pings and pass for ours.
  ! port_in_use "$REDIS_PORT" || die "port $REDIS_PORT is taken by another server: set REDIS_PORT"
  mkdir -p "$SERVICES_DIR" "$redis_dir"
  chmod 700 "$redis_dir"
  # Rewritten at every start, so a changed REDIS_PORT takes effect.
  # No persistence (no RDB snapshots, appendonly off): Redis keeps only short-lived state
  # (message de-duplication, late answers waiting to be sent, rate-limit counters, Rasa's
  # conversation locks, per-user memory of the last answer); losing it on a restart costs at
  # most the retries in flight and a follow-up's context, and writing it to disk would cost
  # every message a write for nothing kept.
  cat >"$redis_dir/redis.conf" <<EOF
bind $HOST
port $REDIS_PORT
protected-mode yes
daemonize yes
pidfile $redis_dir/redis.pid
logfile $redis_dir/redis.log
dir $redis_dir
save ""
appendonly no
EOF
  redis-server "$redis_dir/redis.conf" \
    || fail_with_log "redis-server did not start" "$redis_dir/redis.log"
  wait_for "$WAIT_SECONDS" redis_ping \
    || fail_with_log "redis did not answer on $HOST:$REDIS_PORT within ${WAIT_SECONDS}s" \
      "$redis_dir/redis.log"
  say "redis running on $HOST:$REDIS_PORT"
}

redis_stop() {
  local pid
  if ! pid="$(redis_pid)"; then
    say "redis not running"
    return
  fi
  # SHUTDOWN NOSAVE: nothing is kept on disk anyway (see redis_start).
  redis-cli -h "$HOST" -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
  if ! wait_for "$WAIT_SECONDS" not kill -0 "$pid"; then
    kill -9 "$pid" 2>/dev/null || true
    fail_with_log "redis (pid $pid) did not stop within ${WAIT_SECONDS}s; killed" \
      "$redis_dir/redis.log"
  fi
  rm -f "$redis_dir/redis.pid"
  say "redis stopped"
}

# ---------------------------------------------------------------- PostgreSQL

# As the role clients use: any other name is refused by pg_hba.conf with a FATAL line in the log.
pg_ready() { pg_isready -q -h "$HOST" -p "$PG_PORT" -d "$PG_DB" -U "$PG_ROLE"; }

pg_running() { as_pg "$(pg_bin)/pg_ctl" status -D "$pg_data" >/dev/null 2>&1; }

pg_password() {
  if [ ! -s "$pg_password_file" ]; then
    # Letters and digits only: safe inside SQL quotes and a URL without escaping.
    # (1000 random bytes leave about 240 of them; a `head` reading tr's endless output
    # would end it with SIGPIPE, which pipefail counts as a failure.)
    (umask 077 && head -c 1000 /dev/urandom | LC_ALL=C tr -dc 'A-Za-z0-9' | cut -c 1-32 \
      >"$pg_password_file")
  fi
  chmod 600 "$pg_password_file"
  cat "$pg_password_file"
}

pg_check_reachable() {
  # The server's user must reach the folders; as root that is `postgres`, not us.
  as_pg test -x "$SERVICES_DIR" -a -w "$SERVICES_DIR/postgres-run" 2>/dev/null \
    || die "the OS user $(pg_user) cannot reach $SERVICES_DIR: every parent folder must be" \
      "searchable by others (chmod o+x), or choose another SERVICES_DIR"
}

pg_prepare_dirs() {
  local user
  user="$(pg_user)"
  # SERVICES_DIR itself: searchable, not listable, by the server's user.
  mkdir -p "$SERVICES_DIR"
  chmod 711 "$SERVICES_DIR"
  mkdir -p "$pg_run"
  chmod 700 "$pg_run"
  [ "$(id -u)" -ne 0 ] || chown "$user:" "$pg_run"
  pg_check_reachable
}

pg_initdb() {
  local bin="$1" user
  user="$(pg_user)"
  mkdir -p "$pg_data"
  chmod 700 "$pg_data"
  [ "$(id -u)" -ne 0 ] || chown "$user:" "$pg_data"
  say "initdb into $pg_data"
  # UTF8 with the C locale: Chinese text is stored as is and sorted by code point, and no
  # OS locale has to be installed.
  as_pg "$bin/initdb" -D "$pg_data" -U "$user" -E UTF8 --no-locale \
    --auth-local=peer --auth-host=scram-sha-256 >"$pg_run/initdb.log" 2>&1 \
    || fail_with_log "initdb failed" "$pg_run/initdb.log"
  # Only the server's own user over the socket; `assistant` over TCP from this machine.
  as_pg tee "$pg_data/pg_hba.conf" >/dev/null <<EOF
# Written by scripts/local-services.sh.
# TYPE  DATABASE   USER       ADDRESS        METHOD
local   all        $user      peer
host    $PG_DB  $PG_ROLE  $HOST/32   scram-sha-256
EOF
  echo "include_if_exists = 'local-services.conf'" | as_pg tee -a "$pg_data/postgresql.conf" >/dev/null
}

pg_write_conf() {
  # Rewritten at every start, so a changed PG_PORT or SERVICES_DIR takes effect.
  as_pg tee "$pg_data/local-services.conf" >/dev/null <<EOF
# Written by scripts/local-services.sh at every start.
listen_addresses = '$HOST'
port = $PG_PORT
unix_socket_directories = '$pg_run'
password_encryption = 'scram-sha-256'
EOF
}

pg_psql() {
  as_pg psql -X -q -v ON_ERROR_STOP=1 -h "$pg_run" -p "$PG_PORT" -d postgres "$@"
}

pg_ensure_role_and_db() {
  local password
  password="$(pg_password)"
  # SQL on stdin, not in psql's arguments: a command line is readable by every local user.
  pg_psql <<EOF
SELECT 'CREATE ROLE $PG_ROLE LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_ROLE')
\gexec
ALTER ROLE $PG_ROLE LOGIN PASSWORD '$password';
SELECT 'CREATE DATABASE $PG_DB OWNER $PG_ROLE ENCODING ''UTF8''' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$PG_DB')
\gexec
EOF
}

pg_start() {
  local bin
  bin="$(pg_bin)"
  command -v pg_isready >/dev/null 2>&1 || die "pg_isready is not installed: run $0 install first"
  pg_prepare_dirs
  [ -f "$pg_data/PG_VERSION" ] || pg_initdb "$bin"
  if pg_running; then
    if pg_ready; then
      say "postgres already running on $HOST:$PG_PORT"
      return
    fi
    fail_with_log "postgres runs from $pg_data but does not answer on $HOST:$PG_PORT" "$pg_log"
  fi
  ! port_in_use "$PG_PORT" || die "port $PG_PORT is taken by another server: set PG_PORT"
  pg_write_conf
  # -w -t: pg_ctl itself waits, bounded; pg_isready below checks the TCP side we use.
  as_pg "$bin/pg_ctl" start -D "$pg_data" -l "$pg_log" -w -t "$WAIT_SECONDS" >/dev/null \
    || fail_with_log "postgres did not start within ${WAIT_SECONDS}s" "$pg_log"
  wait_for "$WAIT_SECONDS" pg_ready \
    || fail_with_log "postgres did not answer on $HOST:$PG_PORT within ${WAIT_SECONDS}s" "$pg_log"
  pg_ensure_role_and_db || fail_with_log "could not create the role and database" "$pg_log"
  say "postgres running on $HOST:$PG_PORT (database $PG_DB)"
}

pg_stop() {
  if [ ! -f "$pg_data/PG_VERSION" ] || ! pg_running; then
    say "postgres not running"
    return
  fi
  # Fast shutdown: open connections are closed, committed data is kept.
  as_pg "$(pg_bin)/pg_ctl" stop -D "$pg_data" -m fast -w -t "$WAIT_SECONDS" >/dev/null \
    || fail_with_log "postgres did not stop within ${WAIT_SECONDS}s" "$pg_log"
  say "postgres stopped"
}

# ---------------------------------------------------------------- commands

for_each() {
  local action="$1" which="${2:-all}"
  case "$which" in
    redis) "redis_$action" ;;
    postgres) "pg_$action" ;;
    all) "redis_$action"; "pg_$action" ;;
    *) die "unknown service '$which' (redis, postgres or all)" ;;
  esac
}

cmd_status() {
  local ok=0
  if redis_ping; then say "redis: up on $HOST:$REDIS_PORT"; else say "redis: down"; ok=1; fi
  if command -v pg_isready >/dev/null 2>&1 && pg_ready; then
    say "postgres: up on $HOST:$PG_PORT"
  else
    say "postgres: down"
    ok=1
  fi
  return "$ok"
}

cmd_urls() {
  [ -s "$pg_password_file" ] || die "no $pg_password_file yet: run $0 start first"
  echo "REDIS_URL=redis://$HOST:$REDIS_PORT/0"
  echo "DATABASE_URL=postgresql://$PG_ROLE:$(cat "$pg_password_file")@$HOST:$PG_PORT/$PG_DB"
}

case "${1:-}" in
  install) cmd_install ;;
  start) for_each start "${2:-all}" ;;
  stop) for_each stop "${2:-all}" ;;
  status) cmd_status ;;
  urls) cmd_urls ;;
  *)
    sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
