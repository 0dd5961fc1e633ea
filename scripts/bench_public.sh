#!/usr/bin/env bash
# Public reads against a static file server, and the API's memory through bursts.
#
# Starts the release build of the API on a fresh database with the demo year (a published
# period), fetches the public bodies it serves and writes them to files that Debian's nginx
# (started here, on loopback, with a config written to a temporary folder: `sendfile on`,
# 2 workers, `gzip_static` with precompressed copies) serves. Then `wrk -t2 -c16` drives, in
# alternating rounds: /health/live, the rankings (one version, and after 30 errata), the same
# with If-None-Match (304), a unit's result, the periods list, and the gzip variants; each API
# figure beside nginx serving the identical bytes, with the CPU time per request of the server
# measured (user + system of all its threads, from /proc) and of the whole machine (/proc/stat),
# over the measurement. Last, bursts of concurrent what-if and recompute requests. The API's resident memory (VmRSS) is sampled every
# 100 ms throughout.
#
# Needs PostgreSQL (TEST_DATABASE_URL, else DATABASE_URL, else postgres://postgres@127.0.0.1:5432/
# postgres; a role that may create databases) and installs nginx-light and wrk when missing.
# Knobs: BENCH_PUBLIC_SECS (10 s per measurement), BENCH_PUBLIC_ROUNDS (3), BENCH_ERRATA (30),
# BENCH_BURST (200 connections), BENCH_BURST_SECS (10), BENCH_API_PORT (18080),
# BENCH_NGINX_PORT (18081).
set -euo pipefail
cd "$(dirname "$0")/.."

SECS="${BENCH_PUBLIC_SECS:-10}"
ROUNDS="${BENCH_PUBLIC_ROUNDS:-3}"
ERRATA="${BENCH_ERRATA:-30}"
BURST="${BENCH_BURST:-200}"
BURST_SECS="${BENCH_BURST_SECS:-10}"
API_PORT="${BENCH_API_PORT:-18080}"
NGINX_PORT="${BENCH_NGINX_PORT:-18081}"
MAINTENANCE_URL="${TEST_DATABASE_URL:-${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}}"

log() { printf '=== %s\n' "$*" >&2; }
SUDO=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then SUDO="sudo"; fi
apt_install() {
    local missing=()
    for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
    if [ "${#missing[@]}" -gt 0 ]; then
        log "installing ${missing[*]}"
        # on standard error: standard output is the report's Markdown
        $SUDO apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >&2
    fi
}
apt_install nginx-light wrk
command -v curl >/dev/null || apt_install curl
command -v psql >/dev/null || apt_install postgresql-client
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"

log "building the release binary"
cargo build --release --bin dti-api >&2
BIN="${CARGO_TARGET_DIR:-target}/release/dti-api"

WORK="$(mktemp -d)"
DB="dti_pubbench_$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')"
DB_URL="${MAINTENANCE_URL%/*}/$DB"
API_PID=""
SAMPLER_PID=""
cleanup() {
    [ -n "$SAMPLER_PID" ] && kill "$SAMPLER_PID" 2>/dev/null || true
    [ -n "$API_PID" ] && kill "$API_PID" 2>/dev/null && wait "$API_PID" 2>/dev/null || true
    [ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true
    psql -q "$MAINTENANCE_URL" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT
psql -q "$MAINTENANCE_URL" -c "CREATE DATABASE $DB" >/dev/null

log "starting the API (demo data) on 127.0.0.1:$API_PORT"
DATABASE_URL="$DB_URL" APP_MODE=demo SEED_ON_EMPTY=true APP_HOST=127.0.0.1 APP_PORT="$API_PORT" \
    DATA_DIR="$WORK/data" JWT_SECRET="$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')" \
    RUST_LOG=warn "$BIN" serve >"$WORK/api.log" 2>&1 &
API_PID=$!
(
    while kill -0 "$API_PID" 2>/dev/null; do
        awk '/^VmRSS/ {print $2}' "/proc/$API_PID/status" 2>/dev/null || true
        sleep 0.1
    done
) >"$WORK/rss" &
SAMPLER_PID=$!
API="http://127.0.0.1:$API_PORT"
for _ in $(seq 300); do
    curl -sf "$API/health/ready" >/dev/null 2>&1 && break
    kill -0 "$API_PID" 2>/dev/null || { cat "$WORK/api.log" >&2; exit 1; }
    sleep 0.5
done
curl -sf "$API/health/ready" >/dev/null
rss_now() { tail -n 1 "$WORK/rss"; }
RSS_START="$(rss_now)"

json() { python3 -c "import sys, json; d = json.load(sys.stdin); print($1)"; }
TOKEN="$(curl -sf -X POST "$API/api/v1/auth/login" -H 'content-type: application/json' \
    -d '{"username":"admin","password":"demo-dti-2026"}' | json 'd["access_token"]')"
AUTH="authorization: Bearer $TOKEN"
PERIOD="$(curl -sf "$API/api/v1/public/periods" | json 'd[0]["id"]')"
GROUP="$(curl -sf "$API/api/v1/public/periods" | json '[g["code"] for g in d[0]["groups"] if g["code"] == "LC-XA"][0] if any(g["code"] == "LC-XA" for g in d[0]["groups"]) else d[0]["groups"][0]["code"]')"
RANKINGS="/api/v1/public/periods/$PERIOD/rankings?group=$GROUP"
UNIT_CODE="$(curl -sf "$API$RANKINGS" | json 'd["content"]["rankings"][0]["unit"]["code"]')"
UNIT="/api/v1/public/periods/$PERIOD/units/$UNIT_CODE?group=$GROUP"
PERIODS="/api/v1/public/periods"

# the bytes the API serves, as files for nginx (with gzip -9 copies for gzip_static)
WWW="$WORK/www"
mkdir -p "$WWW" "$WORK/nginx-tmp"
# nginx's workers run as an unprivileged user when started as root
chmod 755 "$WORK" "$WWW"
fetch() { # path file
    curl -sf -H 'accept-encoding: identity' "$API$1" -o "$WWW/$2"
    gzip -9 -k -f "$WWW/$2"
}
fetch "$RANKINGS" rankings-1.json
fetch "$UNIT" unit.json
fetch "$PERIODS" periods-1.json
cat >"$WORK/nginx.conf" <<EOF
worker_processes 2;
daemon on;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    default_type application/json;
    client_body_temp_path $WORK/nginx-tmp/body;
    proxy_temp_path $WORK/nginx-tmp/proxy;
    fastcgi_temp_path $WORK/nginx-tmp/fastcgi;
    uwsgi_temp_path $WORK/nginx-tmp/uwsgi;
    scgi_temp_path $WORK/nginx-tmp/scgi;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        root $WWW;
        gzip_static on;
        gzip_vary on;
        add_header Cache-Control "public, max-age=300";
    }
}
EOF
"$NGINX" -e "$WORK/nginx-error.log" -c "$WORK/nginx.conf"
NG="http://127.0.0.1:$NGINX_PORT"
for f in rankings-1.json unit.json periods-1.json; do
    cmp -s <(curl -sf "$NG/$f") "$WWW/$f" || { echo "nginx does not serve $f" >&2; exit 1; }
done

RESULTS="$WORK/results"
: >"$RESULTS"
NGINX_PIDS="$(cat "$WORK/nginx.pid") $(pgrep -P "$(cat "$WORK/nginx.pid")" | tr '\n' ' ')"
# CPU time (user + system, in clock ticks) of every thread of the processes $1…
cpu_ticks() {
    local p t=0
    for p in "$@"; do
        # after the thread's name (which may hold spaces): utime and stime are fields 12 and 13
        t=$((t + $(cat /proc/"$p"/task/*/stat 2>/dev/null | sed 's/.*) //' |
            awk '{s += $12 + $13} END {print s + 0}')))
    done
    echo "$t"
}
# the whole machine's busy time (user, nice, system, irq, softirq; in clock ticks): every
# process and the kernel's own work, wrk's and the loopback's included
machine_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8}' /proc/stat; }
TICK="$(getconf CLK_TCK)"
measure() { # phase round name url [header]
    local phase="$1" round="$2" name="$3" url="$4" out rps n pids c0 c1 m0 m1 us mus
    shift 4
    local args=()
    for h in "$@"; do args+=(-H "$h"); done
    # the CPU each answer costs the server measured (its threads' time, the kernel's work on
    # their behalf included), and the machine as a whole (wrk's share included)
    case "$name" in nginx:*) pids="$NGINX_PIDS" ;; *) pids="$API_PID" ;; esac
    # shellcheck disable=SC2086
    c0="$(cpu_ticks $pids)"
    m0="$(machine_ticks)"
    out="$(wrk -t2 -c16 -d"${SECS}s" ${args[@]+"${args[@]}"} "$url")"
    # shellcheck disable=SC2086
    c1="$(cpu_ticks $pids)"
    m1="$(machine_ticks)"
    rps="$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")"
    n="$(awk '/ requests in / {print $1}' <<<"$out")"
    if grep -q "Non-2xx or 3xx" <<<"$out"; then
        echo "warning: $name answered errors: $(grep 'Non-2xx' <<<"$out")" >&2
    fi
    us="$(awk -v c="$((c1 - c0))" -v t="$TICK" -v n="$n" 'BEGIN {printf "%.2f", c / t * 1e6 / n}')"
    mus="$(awk -v c="$((m1 - m0))" -v t="$TICK" -v n="$n" 'BEGIN {printf "%.2f", c / t * 1e6 / n}')"
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$phase" "$round" "$name" "$rps" "$us" "$mus" >>"$RESULTS"
    log "$phase round $round: $name $rps req/s; CPU µs per request: server $us, machine $mus"
}
ETAG1="$(curl -sfI "$API$RANKINGS" | awk -F': ' 'tolower($1) == "etag" {print $2}' | tr -d '\r')"
GZ="accept-encoding: gzip"
reads() { # phase rankings-file periods-file etag
    local phase="$1" rf="$2" pf="$3" etag="$4"
    for r in $(seq "$ROUNDS"); do
        measure "$phase" "$r" "GET /health/live" "$API/health/live"
        measure "$phase" "$r" "nginx: rankings" "$NG/$rf"
        measure "$phase" "$r" "API: rankings" "$API$RANKINGS"
        measure "$phase" "$r" "API: rankings, If-None-Match (304)" "$API$RANKINGS" "if-none-match: $etag"
        measure "$phase" "$r" "nginx: rankings, gzip" "$NG/$rf" "$GZ"
        measure "$phase" "$r" "API: rankings, gzip" "$API$RANKINGS" "$GZ"
        measure "$phase" "$r" "nginx: periods" "$NG/$pf"
        measure "$phase" "$r" "API: periods" "$API$PERIODS"
        measure "$phase" "$r" "nginx: periods, gzip" "$NG/$pf" "$GZ"
        measure "$phase" "$r" "API: periods, gzip" "$API$PERIODS" "$GZ"
        if [ "$phase" = "1 version" ]; then
            measure "$phase" "$r" "nginx: unit" "$NG/unit.json"
            measure "$phase" "$r" "API: unit" "$API$UNIT"
            measure "$phase" "$r" "nginx: unit, gzip" "$NG/unit.json" "$GZ"
            measure "$phase" "$r" "API: unit, gzip" "$API$UNIT" "$GZ"
        fi
    done
}
reads "1 version" rankings-1.json periods-1.json "$ETAG1"

log "publishing $ERRATA errata of $GROUP"
for n in $(seq "$ERRATA"); do
    curl -sf -o /dev/null -X POST "$API/api/v1/periods/$PERIOD/publications" -H "$AUTH" \
        -H 'content-type: application/json' \
        -d "{\"group\":\"$GROUP\",\"changelog\":\"errata $n\"}"
done
fetch "$RANKINGS" rankings-n.json
fetch "$PERIODS" periods-n.json
ETAGN="$(curl -sfI "$API$RANKINGS" | awk -F': ' 'tolower($1) == "etag" {print $2}' | tr -d '\r')"
reads "$((ERRATA + 1)) versions" rankings-n.json periods-n.json "$ETAGN"
RSS_READS="$(sort -n "$WORK/rss" | tail -n 1)"

# bursts: what-if (a unit's current answer, hypothetically) and full recomputes
CURRENT="$(curl -sf "$API/api/v1/periods" -H "$AUTH" | json '[p["id"] for p in (d.get("items", d) if isinstance(d, dict) else d) if p["phase"] == "self_assessment"][0]')"
ASSESSMENT="$(curl -sf "$API/api/v1/periods/$CURRENT/assessments" -H "$AUTH" | json '[a["id"] for a in (d.get("items", d) if isinstance(d, dict) else d) if a["state"] != "not_started"][0]')"
WHAT_IF="$(curl -sf "$API/api/v1/assessments/$ASSESSMENT" -H "$AUTH" | json 'json.dumps({"answers": [{"node_code": a["node_code"], "inputs": a["inputs"]} for a in d["answers"][:3]]})')"
cat >"$WORK/post.lua" <<'EOF'
wrk.method = "POST"
wrk.body = os.getenv("BODY")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
-- every answer that is not a success, by status and problem code, summed over wrk's threads
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) failed = {} end
function response(status, headers, body)
    if status >= 300 then
        local key = status .. " " .. (string.match(body or "", '"code"%s*:%s*"([%w_]+)"') or "")
        failed[key] = (failed[key] or 0) + 1
    end
end
function done(summary, latency, requests)
    local total, parts = {}, {}
    for _, t in ipairs(threads) do
        for key, n in pairs(t:get("failed")) do total[key] = (total[key] or 0) + n end
    end
    for key, n in pairs(total) do table.insert(parts, n .. " × " .. key) end
    table.sort(parts)
    io.write("statuses: " .. (#parts > 0 and table.concat(parts, ", ") or "none") .. "\n")
end
EOF
burst() { # name url body
    local out
    out="$(BODY="$3" TOKEN="$TOKEN" wrk -t2 -c"$BURST" -d"${BURST_SECS}s" --timeout 30s -s "$WORK/post.lua" "$2")"
    BURSTS+="| $1, $BURST connections, ${BURST_SECS} s | $(awk '/^Requests\/sec:/ {print $2}' <<<"$out") | $(sed -n 's/^statuses: //p' <<<"$out") |"$'\n'
    log "burst $1: $(awk '/^Requests\/sec:/ {print $2}' <<<"$out") req/s"
}
BURSTS=""
burst "POST /assessments/{id}/what-if" "$API/api/v1/assessments/$ASSESSMENT/what-if" "$WHAT_IF"
burst "POST /periods/{id}/recompute" "$API/api/v1/periods/$CURRENT/recompute" "{}"
sleep 2
RSS_END="$(rss_now)"
RSS_PEAK="$(sort -n "$WORK/rss" | tail -n 1)"
THREADS="$(ls "/proc/$API_PID/task" | wc -l)"

python3 - "$RESULTS" <<'EOF'
import sys
from collections import defaultdict
rows = defaultdict(dict)  # (phase, name) -> round -> rps
cpu = defaultdict(dict)  # (phase, name) -> round -> the server's CPU µs per request
machine = defaultdict(dict)  # (phase, name) -> round -> the machine's busy µs per request
order = []
for line in open(sys.argv[1]):
    phase, rnd, name, rps, us, mus = line.rstrip("\n").split("\t")
    if (phase, name) not in rows:
        order.append((phase, name))
    rows[(phase, name)][int(rnd)] = float(rps)
    cpu[(phase, name)][int(rnd)] = float(us)
    machine[(phase, name)][int(rnd)] = float(mus)
def rng(xs, digits=0):
    lo, hi = min(xs), max(xs)
    f = f",.{digits}f"
    return f"{lo:{f}}" if round(lo, digits) == round(hi, digits) else f"{lo:{f}}–{hi:{f}}"
def pct(xs):
    lo, hi = min(xs), max(xs)
    return f"{lo:.0f} %" if round(lo) == round(hi) else f"{lo:.0f}–{hi:.0f} %"
print("| rows: `wrk -t2 -c16` per measurement | phase | req/s (range over rounds) | API ÷ nginx, same bytes, same round | ÷ `/health/live`, same round | CPU per request, µs: the server's | the machine's (wrk and kernel included) |")
print("|---|---|---:|---:|---:|---:|---:|")
for phase, name in order:
    r = rows[(phase, name)]
    live = rows[(phase, "GET /health/live")]
    ratio, of_live = "", ""
    if name.startswith("API: "):
        base = name[5:].replace(", If-None-Match (304)", "")
        ng = rows.get((phase, "nginx: " + base))
        if ng:
            ratio = pct([100 * r[k] / ng[k] for k in r if k in ng])
    if name != "GET /health/live":
        of_live = pct([100 * r[k] / live[k] for k in r if k in live])
    print(f"| {name} | {phase} | {rng(list(r.values()))} | {ratio} | {of_live} | {rng(list(cpu[(phase, name)].values()), 1)} | {rng(list(machine[(phase, name)].values()), 1)} |")
EOF
echo
echo "| burst | req/s | answers other than 2xx, by status and problem code |"
echo "|---|---:|---:|"
printf '%s' "$BURSTS"
echo
printf 'API resident memory (VmRSS): %d MB at start, %d MB peak through the reads, %d MB peak overall (bursts included), %d MB 2 s after the bursts; %d threads then.\n' \
    $((RSS_START / 1024)) $((RSS_READS / 1024)) $((RSS_PEAK / 1024)) $((RSS_END / 1024)) "$THREADS"
echo "Bodies: rankings $(stat -c %s "$WWW/rankings-1.json") bytes (1 version), $(stat -c %s "$WWW/rankings-n.json") bytes ($((ERRATA + 1)) versions), unit $(stat -c %s "$WWW/unit.json"), periods $(stat -c %s "$WWW/periods-n.json"); gzip $(stat -c %s "$WWW/rankings-1.json.gz") bytes. ${SECS} s per measurement, ${ROUNDS} rounds; load average after: $(cut -d' ' -f1-3 /proc/loadavg)."
