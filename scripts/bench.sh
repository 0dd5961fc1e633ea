#!/usr/bin/env bash
# The benchmark, in one command: two sections, each printing Markdown tables.
#
# 1. National scale (BENCH_NATIONAL=0 skips it): ~3,400 units × 100 components in one ranking
#    group and one period; full recompute, answer-write latency vs baselines, the
#    relative_to_best case, a phase profile of one write, the exports, and the answers import
#    of every unit as CSV and XLSX against COPY. Takes a few minutes.
#    Knobs: BENCH_UNITS, BENCH_WRITES, BENCH_REL_WRITES, BENCH_RECOMPUTE_RUNS, BENCH_BUDGET_SECS,
#    BENCH_PROFILE_RUNS, BENCH_EXPORT_RUNS, BENCH_IMPORT_RUNS (see benches/national.rs). Arguments go to
#    `cargo bench`.
# 2. Public reads and memory (BENCH_PUBLIC=0 skips it): the release build against nginx serving
#    the identical bytes, with wrk, and the API's peak RSS through bursts of what-if and
#    recompute requests. Knobs: see scripts/bench_public.sh. About ten minutes.
#
# Needs a PostgreSQL server and a role allowed to CREATE/DROP DATABASE:
#   TEST_DATABASE_URL (else DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres)
# Each section creates its own database and drops it at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
export TEST_DATABASE_URL="${TEST_DATABASE_URL:-${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}}"
if [ "${BENCH_NATIONAL:-1}" != 0 ]; then
    cargo bench --bench national "$@"
fi
if [ "${BENCH_PUBLIC:-1}" != 0 ]; then
    scripts/bench_public.sh
fi
