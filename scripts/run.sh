#!/usr/bin/env bash
# Starts the Career Nexus server for development on 127.0.0.1:8000 with everything it
# needs: installs FerretDB and s3s-fs when missing, starts them with data under .data/,
# loads the fixtures on the first run, then runs the server until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

DATA_DIR="$PWD/.data"
DB_PORT="${CN_DB_PORT:-27017}"
S3_PORT="${CN_S3_PORT:-8014}"
mkdir -p "$DATA_DIR/logs"

ensure_ferretdb
ensure_s3s_fs

pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM

if port_in_use "$DB_PORT"; then
    die "port $DB_PORT is taken; stop what listens there or set CN_DB_PORT (and CN__DATABASE__URI)"
fi
if port_in_use "$S3_PORT"; then
    die "port $S3_PORT is taken; stop what listens there or set CN_S3_PORT (and the CN__MEDIA__ URLs)"
fi
log "starting FerretDB on 127.0.0.1:$DB_PORT (log: .data/logs/ferretdb.log)"
pids+=("$(start_ferretdb "$DB_PORT" "$DATA_DIR/ferretdb" "$DATA_DIR/logs/ferretdb.log")")
log "starting s3s-fs on 127.0.0.1:$S3_PORT (log: .data/logs/s3s-fs.log)"
pids+=("$(start_s3s_fs "$S3_PORT" "$DATA_DIR/media" "$DATA_DIR/logs/s3s-fs.log")")
wait_for_port "$DB_PORT" FerretDB
wait_for_port "$S3_PORT" s3s-fs

export CN__DATABASE__URI="${CN__DATABASE__URI:-mongodb://127.0.0.1:$DB_PORT/}"
log "building the server"
cargo build --quiet --bin careernexus
SERVER="$CARGO_TARGET_DIR/debug/careernexus"

if [ ! -f "$DATA_DIR/fixtures-loaded" ]; then
    log "loading fixtures (first run)"
    "$SERVER" fixtures load fixtures
    touch "$DATA_DIR/fixtures-loaded"
fi

log "starting the server on http://127.0.0.1:8000 (API docs at /docs/); Ctrl-C stops everything"
# In the background with `wait`, so that a TERM to this script runs the cleanup at once.
"$SERVER" serve &
pids+=("$!")
wait "$!"
