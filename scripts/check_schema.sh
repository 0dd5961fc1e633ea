#!/usr/bin/env bash
# Fails, with a unified diff, when src/db/schema.rs is not what `diesel print-schema` gives for
# the migrations: creates a temporary database, runs every migration on it with diesel_cli, prints
# its schema with the options of diesel.toml, compares, and drops the database.
#
# The server is the one the API tests use (tests/api/helpers.rs, same order): TEST_DATABASE_URL
# (or DATABASE_URL) when set; else 127.0.0.1:5432 when it lets `postgres` in; else the tests'
# private cluster, which a `cargo test` run started and left running. Installs diesel_cli (the
# version of the diesel in Cargo.lock) when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

DIESEL_CLI_VERSION=2.3.14

diesel_version() { diesel -V 2>/dev/null | sed -n 's/^diesel \([0-9.]*\).*/\1/p'; }
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
if [ "$(diesel_version)" != "$DIESEL_CLI_VERSION" ]; then
    echo "installing diesel_cli $DIESEL_CLI_VERSION (PostgreSQL only)"
    cargo install --locked diesel_cli --version "$DIESEL_CLI_VERSION" \
        --no-default-features --features postgres
fi

server_url() {
    local url="${TEST_DATABASE_URL:-${DATABASE_URL:-}}"
    if [ -n "$url" ]; then echo "$url"; return; fi
    url="postgres://postgres@127.0.0.1:5432/postgres"
    if command -v psql >/dev/null && psql -w -Atqc 'select 1' "$url" >/dev/null 2>&1; then
        echo "$url"; return
    fi
    # The private cluster keeps its port and generated password beside its data folder.
    local dir="${TMPDIR:-/tmp}/dti-test-pg-$(id -u)/data"
    if [ -f "$dir/postgres.port" ] && [ -f "$dir/postgres.password" ]; then
        echo "postgres://postgres:$(cat "$dir/postgres.password")@127.0.0.1:$(cat "$dir/postgres.port")/postgres"
        return
    fi
    echo "no PostgreSQL to check the schema on: set TEST_DATABASE_URL, or run cargo test first" >&2
    return 1
}

server="$(server_url)"
# The same server, another database (any ?query of the URL kept).
db="dti_schema_check_$$"
query=""
case "${server##*/}" in *\?*) query="?${server##*\?}" ;; esac
db_url="${server%/*}/$db$query"

work="$(mktemp -d)"
cleanup() {
    diesel database drop --database-url "$db_url" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

# An empty configuration for the setup: with diesel.toml, migrating would rewrite
# src/db/schema.rs, the very file under check.
: >"$work/migrate-only.toml"
diesel database setup --no-default-migration --config-file "$work/migrate-only.toml" \
    --migration-dir migrations --database-url "$db_url" >/dev/null

diesel print-schema --database-url "$db_url" >"$work/schema.rs"
if ! diff -u --label "src/db/schema.rs (committed)" --label "diesel print-schema (migrations)" \
    src/db/schema.rs "$work/schema.rs"; then
    echo
    echo "src/db/schema.rs differs from what the migrations give. Regenerate it:"
    echo "  diesel migration run --database-url <a database with every migration>"
    exit 1
fi
echo "src/db/schema.rs matches the migrations"
