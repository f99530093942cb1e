#!/usr/bin/env bash
# Starts the whole product on this machine: web (ASGI), a Celery worker, beat,
# and a realistic demo day. Ctrl-C stops everything it started.
set -euo pipefail
. "$(dirname "$0")/bootstrap.sh"
cd "$ROOT"

ensure_services
ensure_venv requirements.txt
ensure_static
export DJANGO_SETTINGS_MODULE=config.settings.local
PORT="${PORT:-8000}"
HOST="${HOST:-127.0.0.1}"
export PUBLIC_BASE_URL="${PUBLIC_BASE_URL:-http://$HOST:$PORT}"
LOGS="${LOG_DIR:-$ROOT/var/log}"
mkdir -p "$LOGS"

ensure_database
say "Migrating"
"$PY" manage.py migrate --no-input >/dev/null
say "Collecting static files"
"$PY" manage.py collectstatic --no-input >/dev/null
say "Seeding the demo day (${DEMO_STOPS:-2000} stops, ${DEMO_DRIVERS:-40} drivers), starting now"
# Drivers leave the depot now, in a morning somewhere (Chicago's when it is morning there): see the README.
"$PY" manage.py seed_demo --stops "${DEMO_STOPS:-2000}" --drivers "${DEMO_DRIVERS:-40}" --starting-now \
  --driver-token "${DEMO_TOKEN_FILE:-$ROOT/var/demo/driver-token}" | tee "$LOGS/seed.txt"

pids=()
sim_pid=""
stop_all() {
  trap - INT TERM EXIT
  say "Stopping"
  [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null || true
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop_all INT TERM EXIT

# Texts go through the real Twilio SDK to a fake Twilio on this machine, unless real credentials are set.
if [ -z "${TWILIO_ACCOUNT_SID:-}" ]; then
  TWILIO_PORT="${TWILIO_PORT:-8099}"
  export TWILIO_ACCOUNT_SID="AC00000000000000000000000000demo"
  export TWILIO_AUTH_TOKEN="demo-auth-token"
  export TWILIO_FROM_NUMBER="+13125550100"
  export TWILIO_API_BASE_URL="http://127.0.0.1:$TWILIO_PORT"
  "$PY" -m demo.fakes.twilio --port "$TWILIO_PORT" >"$LOGS/fake-twilio.log" 2>&1 & pids+=($!)
fi

say "Starting web, worker and beat (logs in var/log/)"
# No proxy stands in front of the demo: X-Forwarded-For is nobody's to set (it would pick the address the
# sign-in lockout counts). Behind a proxy, uvicorn trusts the addresses in FORWARDED_ALLOW_IPS.
"$VENV/bin/uvicorn" config.asgi:application --host "$HOST" --port "$PORT" --workers "${WEB_WORKERS:-2}" \
  --timeout-graceful-shutdown 10 --no-proxy-headers \
  >"$LOGS/web.log" 2>&1 & pids+=($!)
"$VENV/bin/celery" -A config worker -Q default,outreach,routing --concurrency "${WORKER_CONCURRENCY:-2}" \
  --loglevel INFO >"$LOGS/worker.log" 2>&1 & pids+=($!)
"$VENV/bin/celery" -A config beat --loglevel INFO >"$LOGS/beat.log" 2>&1 & pids+=($!)

for _ in $(seq 60); do
  if "$PY" -c "import urllib.request,sys; urllib.request.urlopen('http://$HOST:$PORT/healthz', timeout=2)" 2>/dev/null; then
    break
  fi
  for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null || fail "A process exited early; see $LOGS/."; done
  sleep 1
done
"$PY" -c "import urllib.request; urllib.request.urlopen('http://$HOST:$PORT/healthz', timeout=2)" 2>/dev/null \
  || fail "The web server did not become healthy; see $LOGS/web.log."
worker_ready=""
for _ in $(seq 30); do
  if "$VENV/bin/celery" -A config inspect ping --timeout 2 >/dev/null 2>&1; then worker_ready=yes; break; fi
  for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null || fail "A process exited early; see $LOGS/."; done
done
[ -n "$worker_ready" ] || fail "The Celery worker did not answer; see $LOGS/worker.log."

# A gentle day: a few drivers work their stops ten times faster than life, recipients text back,
# and the escalated cases wait on the board for you. DEMO_SIMULATE=0 leaves the day still.
if [ "${DEMO_SIMULATE:-1}" != "0" ]; then
  "$PY" manage.py simulate_day --live --opening --drivers "${DEMO_SIM_DRIVERS:-8}" --speed "${DEMO_SIM_SPEED:-10}" \
    --dispatchers 0 >"$LOGS/simulate.log" 2>&1 & sim_pid=$!
fi

cat <<TXT

  The dispatch exception desk is running.
    Board:      http://$HOST:$PORT/board/   (sign in as dispatcher; analytics at /analytics/)
    Driver app: http://$HOST:$PORT/driver/   (on a phone on this network: use its address, not 127.0.0.1)
    Admin:      http://$HOST:$PORT/admin/
    API docs:   http://$HOST:$PORT/api/docs/
    Health:     http://$HOST:$PORT/healthz
  Texts: ${TWILIO_API_BASE_URL:-Twilio} (a fake Twilio on this machine unless TWILIO_ACCOUNT_SID is set).
  Drivers are on the road (simulated, var/log/simulate.log): exceptions appear on the board as they fail stops.
  Logs: var/log/web.log, var/log/worker.log, var/log/beat.log.

$(grep -E '^  It is ' "$LOGS/seed.txt")
$(sed -n 's/^  driver app token/  Driver app token/p' "$LOGS/seed.txt")
$(sed -n 's/^  driver app sign-in code/  Driver app sign-in code/p' "$LOGS/seed.txt")
$(sed -n '/^Demo logins/,$p' "$LOGS/seed.txt" | sed 's/^/  /')

  Ctrl-C stops everything.
TXT
wait -n "${pids[@]}" || true
fail "A process stopped; see $LOGS/."
