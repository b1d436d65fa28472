# Shared by run.sh, test.sh and bench.sh: installs the development tools when missing and
# starts the local services on 127.0.0.1. Source it; it defines functions only.

# Tools live outside the checkout so that fresh clones (CI) reuse them.
CN_TOOLS_DIR="${CN_TOOLS_DIR:-$HOME/.cache/careernexus/tools}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/careernexus/target}"
FERRETDB_VERSION="v1.24.2"
S3S_FS_VERSION="0.14.1"
FERRETDB_BIN="$CN_TOOLS_DIR/bin/ferretdb"
S3S_FS_BIN="$CN_TOOLS_DIR/bin/s3s-fs"

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

ensure_ferretdb() {
    if "$FERRETDB_BIN" --version >/dev/null 2>&1; then
        return
    fi
    command -v go >/dev/null || die "Go is needed to install FerretDB; install Go 1.21 or newer"
    mkdir -p "$CN_TOOLS_DIR/bin"
    log "installing FerretDB $FERRETDB_VERSION (go install)"
    GOBIN="$CN_TOOLS_DIR/bin" go install "github.com/FerretDB/FerretDB/cmd/ferretdb@$FERRETDB_VERSION"
    if "$FERRETDB_BIN" --version >/dev/null 2>&1; then
        return
    fi
    # A plain `go install` of v1.24.2 builds a binary that panics at start because the
    # module has no build/version/version.txt. Rebuild the same downloaded source with
    # that file added.
    log "FerretDB from go install lacks its version file; rebuilding the same source with it"
    local source
    source="$(go env GOMODCACHE)/github.com/!ferret!d!b/!ferret!d!b@$FERRETDB_VERSION"
    [ -d "$source" ] || die "FerretDB source not found at $source"
    local work
    work="$(mktemp -d)"
    cp -r "$source" "$work/ferretdb"
    chmod -R u+w "$work/ferretdb"
    echo "$FERRETDB_VERSION" > "$work/ferretdb/build/version/version.txt"
    (cd "$work/ferretdb" && go build -buildvcs=false -o "$FERRETDB_BIN" ./cmd/ferretdb)
    rm -rf "$work"
    "$FERRETDB_BIN" --version >/dev/null 2>&1 || die "FerretDB $FERRETDB_VERSION does not start; see the output above"
}

ensure_s3s_fs() {
    if "$S3S_FS_BIN" --version >/dev/null 2>&1; then
        return
    fi
    log "installing s3s-fs $S3S_FS_VERSION (cargo install, a few minutes the first time)"
    cargo install --quiet --locked "s3s-fs@$S3S_FS_VERSION" --features binary --root "$CN_TOOLS_DIR"
}

# wait_for_port PORT NAME: waits up to 30 s for a listener on 127.0.0.1:PORT.
wait_for_port() {
    local port=$1 name=$2
    for _ in $(seq 1 300); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            return
        fi
        sleep 0.1
    done
    die "$name did not start listening on 127.0.0.1:$port"
}

port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# start_ferretdb PORT DATA_DIR LOG_FILE: starts FerretDB with its SQLite backend in the
# background and prints its pid.
start_ferretdb() {
    local port=$1 data=$2 logfile=$3
    mkdir -p "$data/sqlite" "$data/state"
    "$FERRETDB_BIN" --handler=sqlite --sqlite-url="file:$data/sqlite/" --state-dir="$data/state" \
        --listen-addr="127.0.0.1:$port" --telemetry=disable --debug-addr=- --log-level=warn \
        >"$logfile" 2>&1 &
    echo $!
}

# start_s3s_fs PORT DATA_DIR LOG_FILE: starts the S3-compatible server in the background
# with the development keys of config.toml and prints its pid.
start_s3s_fs() {
    local port=$1 data=$2 logfile=$3
    mkdir -p "$data"
    "$S3S_FS_BIN" --host 127.0.0.1 --port "$port" \
        --access-key careernexus-dev --secret-key careernexus-dev-secret "$data" >"$logfile" 2>&1 &
    echo $!
}

# free_port: prints a TCP port that nothing listens on.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
