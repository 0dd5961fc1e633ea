#!/usr/bin/env bash
# National-scale benchmark: ~3,400 units × 100 components in one ranking group and one
# period; prints a Markdown table (full recompute, answer-write latency vs baselines, the
# relative_to_best case, the answers import of every unit as CSV and XLSX against COPY) and a
# phase profile of one write. Takes a few minutes.
#
# Needs a PostgreSQL server and a role allowed to CREATE/DROP DATABASE:
#   TEST_DATABASE_URL (else DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres)
# The bench creates dti_bench_<uuid> and drops it at the end.
# Knobs: BENCH_UNITS, BENCH_WRITES, BENCH_REL_WRITES, BENCH_RECOMPUTE_RUNS, BENCH_BUDGET_SECS,
# BENCH_PROFILE_RUNS, BENCH_EXPORT_RUNS, BENCH_IMPORT_RUNS (see benches/national.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
export TEST_DATABASE_URL="${TEST_DATABASE_URL:-${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}}"
exec cargo bench --bench national "$@"
