#!/usr/bin/env bash
# Shared setup for `make demo` and `make test`: services reachable, virtual
# environment with the pinned requirements, database created and migrated.
# Source it; it defines functions and changes nothing until they are called.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
fail() { printf '\033[31mERROR: %s\033[0m\n' "$*" >&2; exit 1; }

# A machine set up by an earlier run of this script keeps its generated settings here.
load_local_env() {
  if [ -f "$ROOT/.env.local" ]; then
    set -a; . "$ROOT/.env.local"; set +a
  fi
  export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/dispatch}"
  export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
}

port_open() {  # host port
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && exec 3>&- 3<&-
}

url_host_port() {  # url default_port -> "host port"
  local rest="${1#*://}"; rest="${rest#*@}"; rest="${rest%%/*}"
  local host="${rest%%:*}" port="${rest##*:}"
  [ "$port" = "$rest" ] && port="$2"
  echo "$host $port"
}

can_apt() { command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" = 0 ] || command -v sudo >/dev/null 2>&1; }; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

start_postgres() {
  local installed=""
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    say "Installing PostgreSQL from apt"
    as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    installed=yes
  fi
  local version; version="$(ls /etc/postgresql | sort -V | tail -n1)"
  say "Starting PostgreSQL $version"
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  if [ -n "$installed" ]; then
    # A fresh Debian cluster asks for a password over TCP: give the postgres role
    # one and remember the URL for later runs in .env.local.
    as_root su postgres -c "psql -qc \"ALTER USER postgres PASSWORD 'postgres'\"" >/dev/null
    export DATABASE_URL="postgres://postgres:postgres@127.0.0.1:5432/dispatch"
    echo "DATABASE_URL=$DATABASE_URL" >> "$ROOT/.env.local"
  fi
}

start_redis() {  # port
  if ! command -v redis-server >/dev/null 2>&1; then
    say "Installing Redis from apt"
    as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  fi
  say "Starting Redis"
  as_root mkdir -p /var/lib/redis /var/log/redis
  as_root redis-server --daemonize yes --bind 127.0.0.1 --port "$1" --save "" --appendonly no \
    --dir /var/lib/redis --logfile "/var/log/redis/dispatch-$1.log"
}

ensure_services() {
  load_local_env
  local pg redis
  read -r -a pg <<<"$(url_host_port "$DATABASE_URL" 5432)"
  read -r -a redis <<<"$(url_host_port "$REDIS_URL" 6379)"
  if ! port_open "${pg[0]}" "${pg[1]}"; then
    echo "PostgreSQL is not reachable at ${pg[0]}:${pg[1]} (DATABASE_URL)."
    can_apt || fail "Start PostgreSQL there, or set DATABASE_URL to a server that runs, then try again."
    start_postgres
    for _ in $(seq 30); do port_open "${pg[0]}" "${pg[1]}" && break; sleep 1; done
    port_open "${pg[0]}" "${pg[1]}" || fail "PostgreSQL still does not answer on ${pg[0]}:${pg[1]}."
  fi
  if ! port_open "${redis[0]}" "${redis[1]}"; then
    echo "Redis is not reachable at ${redis[0]}:${redis[1]} (REDIS_URL)."
    can_apt || fail "Start Redis there, or set REDIS_URL to a server that runs, then try again."
    start_redis "${redis[1]}"
    for _ in $(seq 30); do port_open "${redis[0]}" "${redis[1]}" && break; sleep 1; done
    port_open "${redis[0]}" "${redis[1]}" || fail "Redis still does not answer on ${redis[0]}:${redis[1]}."
  fi
}

ensure_venv() {  # requirement files...
  local stamp want
  stamp="$VENV/.installed-$(echo "$@" | tr ' /' '+_').sha256"
  want="$(cat "$@" | sha256sum | cut -d' ' -f1)"
  if [ ! -x "$PY" ]; then
    say "Creating the virtual environment in .venv"
    python3 -m venv "$VENV" || fail "python3 -m venv failed; install Python 3.11+ with venv (apt install python3-venv)."
  fi
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    say "Installing pinned requirements (pip's output: var/log/pip.log)"
    mkdir -p "$ROOT/var/log"
    if ! "$PY" -m pip install --quiet --disable-pip-version-check $(printf -- '-r %s ' "$@") >"$ROOT/var/log/pip.log" 2>&1; then
      tail -n 20 "$ROOT/var/log/pip.log" >&2
      fail "pip install failed; the whole output is in var/log/pip.log."
    fi
    echo "$want" > "$stamp"
  fi
}

ensure_database() {  # creates the database named in DATABASE_URL if it is missing
  "$PY" - <<'PY' || fail "Could not create the database named in DATABASE_URL."
import os, dj_database_url, psycopg2
from psycopg2 import sql
cfg = dj_database_url.parse(os.environ["DATABASE_URL"])
conn = psycopg2.connect(dbname="postgres", user=cfg["USER"] or None, password=cfg["PASSWORD"] or None,
                        host=cfg["HOST"] or None, port=cfg["PORT"] or None)
conn.autocommit = True
with conn.cursor() as cur:
    cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [cfg["NAME"]])
    if not cur.fetchone():
        cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(cfg["NAME"])))
        print(f"==> Created database {cfg['NAME']}")
PY
}

apt_install() {  # packages...
  as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

ensure_chromium() {  # the browser tests drive Debian's Chromium (Playwright downloads no browser here)
  [ -x /usr/bin/chromium ] && return
  can_apt || fail "The browser tests need Chromium at /usr/bin/chromium: install Debian's chromium package."
  say "Installing Chromium from apt (for the browser tests)"
  apt_install chromium || fail "apt-get install chromium failed."
}

ensure_gettext() {  # the catalogue test checks locale/ against the code with GNU gettext (the .mo files are in git)
  command -v msgfmt >/dev/null 2>&1 && command -v xgettext >/dev/null 2>&1 && command -v msgcmp >/dev/null 2>&1 && return
  can_apt || fail "The catalogue test needs GNU gettext (msgfmt, xgettext, msgcmp): install Debian's gettext package."
  say "Installing GNU gettext from apt (for the catalogue test)"
  apt_install gettext || fail "apt-get install gettext failed."
}

ensure_static() {  # front-end libraries from the npm registry, copied into static/vendor/
  if ! command -v npm >/dev/null 2>&1; then
    can_apt || fail "The front-end build needs Node.js and npm: install them (apt install nodejs npm)."
    say "Installing Node.js and npm from apt"
    apt_install nodejs npm || fail "apt-get install nodejs npm failed."
  fi
  bash "$ROOT/scripts/build_static.sh" || fail "The front-end build failed (scripts/build_static.sh)."
}
