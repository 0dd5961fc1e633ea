#!/usr/bin/env bash
# Fuzzes the served OpenAPI document with schemathesis (every check), as the administrator and
# as a unit editor, against the debug binary on a fresh seeded database.
#
# Fails on any server error (the `not_a_server_error` check) and on any response outside its
# schema (`response_schema_conformance`); the other checks' findings are counted and printed,
# not failed on. Needs PostgreSQL at TEST_DATABASE_URL (as the tests do).
#
#   FUZZ_SECONDS   time budget per identity (default 100)
#   FUZZ_VENV      where schemathesis is installed if missing (default ~/.cache/dti-fuzz-venv)
#   FUZZ_REPORTS   where the JSON reports go (default target/fuzz)
#   FUZZ_AS        the seeded accounts to fuzz as (default "admin editor.xa-bac-ha")
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_IDENTITY="${FUZZ_SECONDS:-100}"
VENV="${FUZZ_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/dti-fuzz-venv}"
TARGET="${CARGO_TARGET_DIR:-target}"
REPORTS="${FUZZ_REPORTS:-$TARGET/fuzz}"
MAINTENANCE_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
PASSWORD="demo-dti-2026"

log() { printf '\n=== fuzz: %s\n' "$*"; }

# schemathesis 4.x in its own virtualenv
if ! "$VENV/bin/schemathesis" --version >/dev/null 2>&1; then
    log "installing schemathesis into $VENV"
    if ! python3 -m venv "$VENV" 2>/dev/null; then
        SUDO=""
        if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then SUDO="sudo"; fi
        $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-venv
        python3 -m venv "$VENV"
    fi
    "$VENV/bin/pip" install --quiet 'schemathesis>=4,<5'
fi
"$VENV/bin/schemathesis" --version

# The binary of this checkout, as `cargo test` builds it (a no-op right after the tests; a
# plain `cargo build` would rebuild dependencies without the test features): never a stale one.
if [ -z "${FUZZ_BIN:-}" ]; then
    cargo test --locked --no-run -q
fi
BIN="${FUZZ_BIN:-$TARGET/debug/dti-api}"

# A fresh database on the test server, with migrations and seeds.
DB="dti_fuzz_$(date +%s)_$$"
BASE="${MAINTENANCE_URL%/*}"
QUERY=""
case "$MAINTENANCE_URL" in *\?*) QUERY="?${MAINTENANCE_URL#*\?}" ;; esac
export DATABASE_URL="$BASE/$DB$QUERY"
WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    psql "$MAINTENANCE_URL" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT
psql "$MAINTENANCE_URL" -qc "CREATE DATABASE $DB"

PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
# Demo mode: the fuzzer logs in with the seeded demo accounts, which production refuses to
# serve (their password is published); no webhook deliveries to the addresses it invents. A
# METRICS_TOKEN, as the document's `metrics_token` scheme says a deployment has (demo mode
# without one leaves /metrics open, which the fuzzer rightly reports against that scheme).
export APP_MODE=demo APP_HOST=127.0.0.1 APP_PORT="$PORT" APP_WORKERS=2 WEBHOOK_WORKER=false \
    JWT_SECRET="fuzz-$(python3 -c 'import secrets; print(secrets.token_hex(32))')" \
    METRICS_TOKEN="$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')" \
    DATA_DIR="$WORK" DEMO_PASSWORD="$PASSWORD" SEED_ON_EMPTY=false RUST_LOG="${RUST_LOG:-warn}"
"$BIN" migrate
"$BIN" seed
"$BIN" serve >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
URL="http://127.0.0.1:$PORT"
ready() { python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "$URL/health/ready" 2>/dev/null; }
for _ in $(seq 1 60); do
    ready && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log"; echo "the server did not start"; exit 1; }
    sleep 0.5
done

token() {
    python3 - "$URL/api/v1/auth/login" "$1" "$PASSWORD" <<'PY'
import json, sys, urllib.request
url, username, password = sys.argv[1:4]
body = json.dumps({"username": username, "password": password}).encode()
req = urllib.request.Request(url, body, {"content-type": "application/json"})
print(json.load(urllib.request.urlopen(req, timeout=10))["access_token"])
PY
}

mkdir -p "$REPORTS"
REPORTS="$(cd "$REPORTS" && pwd)"
IDENTITIES="${FUZZ_AS:-admin editor.xa-bac-ha}"
# Every token first: fuzzing the login route as one account may lock another's username.
declare -A TOKENS
for who in $IDENTITIES; do TOKENS[$who]="$(token "$who")"; done
status=0
passed=0
failed=0
for who in $IDENTITIES; do
    log "schemathesis as $who (${SECONDS_PER_IDENTITY}s)"
    report="$REPORTS/$who.json"
    rm -f "$report"
    # Exits non-zero on any finding: the gate below decides. Runs in the scratch directory,
    # where its example caches stay.
    (cd "$WORK" && "$VENV/bin/schemathesis" run "$URL/api-docs/openapi.json" \
        --checks all \
        --header "Authorization: Bearer ${TOKENS[$who]}" \
        --max-time "$SECONDS_PER_IDENTITY" \
        --workers 2 \
        --seed 2026 \
        --generation-allow-x00 true \
        --suppress-health-check all \
        --request-timeout 10 \
        --report json --report-json-path "$report" \
        --output-truncate true) >"$WORK/$who.out" 2>&1 || true
    cat "$WORK/$who.out"
    if python3 scripts/fuzz_summary.py "$who" "$report"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        status=1
    fi
done

if grep -q "panicked" "$WORK/server.log"; then
    log "the server panicked"
    grep -m 5 -A 3 "panicked" "$WORK/server.log"
    status=1
fi
if [ "$status" != 0 ]; then
    log "FAILED: the fuzzer found server errors or responses outside their schema (see above)"
    grep -m 20 "failed:" "$WORK/server.log" || true
fi
echo "fuzz: $passed passed, $failed failed"
exit "$status"
