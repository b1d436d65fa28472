#!/usr/bin/env bash
# Runs the whole test suite: formatting and clippy checks, unit tests, then integration
# tests against a throwaway FerretDB and s3s-fs on free ports of 127.0.0.1 (the tests
# start their own SMTP sink). Installs the tools when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

ensure_ferretdb
ensure_s3s_fs

log "checking formatting and lints"
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked --quiet -- -D warnings

WORK="$(mktemp -d)"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

DB_PORT="$(free_port)"
S3_PORT="$(free_port)"
pids+=("$(start_ferretdb "$DB_PORT" "$WORK/ferretdb" "$WORK/ferretdb.log")")
pids+=("$(start_s3s_fs "$S3_PORT" "$WORK/media" "$WORK/s3s-fs.log")")
wait_for_port "$DB_PORT" FerretDB
wait_for_port "$S3_PORT" s3s-fs

export CN_TEST_MONGODB_URI="mongodb://127.0.0.1:$DB_PORT/"
export CN_TEST_S3_ENDPOINT="http://127.0.0.1:$S3_PORT"
log "running tests (FerretDB :$DB_PORT, s3s-fs :$S3_PORT)"
cargo test --workspace --locked --no-fail-fast -- --test-threads="${CN_TEST_THREADS:-8}" "$@" || {
    status=$?
    log "tests failed; FerretDB log tail:"
    tail -n 20 "$WORK/ferretdb.log" >&2 || true
    exit "$status"
}
