#!/usr/bin/env bash
# Runs the WebSocket benchmarks against a fresh release server that this script starts
# on free ports of 127.0.0.1, with FerretDB and s3s-fs data in a temporary directory.
#
# Usage:
#   scripts/bench.sh idle N              N idle notification sockets
#   scripts/bench.sh chat USERS RATE     USERS chat sockets sending RATE messages/s in total
#   scripts/bench.sh slow USERS RATE K   the same plus K sockets that never read
#   scripts/bench.sh all                 the standard set (see ALL_SCENARIOS below)
#
# Several scenarios separated by commas run one after another against the same server,
# which makes their numbers comparable: scripts/bench.sh chat 1000 1000, slow 1000 1000 10
#
# Each scenario prints the tool's summary on stderr and one line on stdout: the scenario
# name (idle_N, chat_USERS_RATE, slow_USERS_RATE_K), a space and the JSON report.
#
# Settings from the environment: BENCH_DURATION_SECS (30), BENCH_WARMUP_SECS (5),
# BENCH_HOLD_SECS (30), BENCH_MESSAGE_BYTES (100), BENCH_IDLE_USERS (1000),
# BENCH_CHAT_CONNECT_CONCURRENCY (16), BENCH_SOCKETS_PER_PROCESS (9000),
# BENCH_SOCKETS_PER_ADDRESS (10000).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

DURATION="${BENCH_DURATION_SECS:-30}"
WARMUP="${BENCH_WARMUP_SECS:-5}"
HOLD="${BENCH_HOLD_SECS:-30}"
MESSAGE_BYTES="${BENCH_MESSAGE_BYTES:-100}"
IDLE_USERS="${BENCH_IDLE_USERS:-1000}"
# Opening a chat socket resolves the room in the server's chat actor, which is much
# slower than opening a notification socket. The server returns 503 when an actor takes
# longer than server.actor_timeout_ms, so chat sockets open only a few at a time.
CHAT_CONNECT_CONCURRENCY="${BENCH_CHAT_CONNECT_CONCURRENCY:-16}"
# Sign-in requests in flight at once, shared by the loadgen processes of a scenario. Each
# sign-in reads the users collection, which FerretDB scans, so more in flight only queue
# up in the server and can outlast server.actor_timeout_ms.
SIGNIN_CONCURRENCY=32
# Each loadgen process keeps its sockets under the open-files limit of one process.
SOCKETS_PER_PROCESS="${BENCH_SOCKETS_PER_PROCESS:-9000}"
# Each source address has about 28,000 ephemeral ports (net.ipv4.ip_local_port_range
# 32768-60999) toward the server's one port. Staying well below that leaves room for
# sockets of earlier scenarios that are still in TIME_WAIT.
SOCKETS_PER_ADDRESS="${BENCH_SOCKETS_PER_ADDRESS:-10000}"
ALL_SCENARIOS=("chat 1000 1000" "chat 1000 10000" "chat 10000 10000" "slow 1000 1000 10" "idle 19000")

usage() {
    sed -n '5,12p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

is_count() {
    [[ "$1" =~ ^[1-9][0-9]*$ ]]
}

# check_scenario WORDS...: validates one scenario and prints the users it needs.
check_scenario() {
    case "${1:-}" in
        idle)
            if ! { [ $# -eq 2 ] && is_count "$2"; }; then die "usage: idle N (N sockets)"; fi
            echo $(($2 < IDLE_USERS ? $2 : IDLE_USERS))
            ;;
        chat)
            if ! { [ $# -eq 3 ] && is_count "$2" && is_count "$3"; }; then die "usage: chat USERS RATE"; fi
            [ $(($2 % 2)) -eq 0 ] || die "chat USERS must be even because users chat in pairs; got $2"
            echo "$2"
            ;;
        slow)
            if ! { [ $# -eq 4 ] && is_count "$2" && is_count "$3" && is_count "$4"; }; then die "usage: slow USERS RATE K"; fi
            [ $(($2 % 2)) -eq 0 ] || die "slow USERS must be even because users chat in pairs; got $2"
            [ "$4" -le "$2" ] || die "slow K ($4) may not exceed USERS ($2)"
            echo "$2"
            ;;
        *) usage ;;
    esac
}

SCENARIOS=()
case "${1:-}" in
    all) SCENARIOS=("${ALL_SCENARIOS[@]}") ;;
    idle | chat | slow) IFS=, read -r -a SCENARIOS <<<"$*" ;;
    *) usage ;;
esac
SEED_USERS=2
for scenario in "${SCENARIOS[@]}"; do
    # shellcheck disable=SC2086 # the words of a scenario are meant to split
    needed="$(check_scenario $scenario)"
    SEED_USERS=$((needed > SEED_USERS ? needed : SEED_USERS))
done
SEED_USERS=$((SEED_USERS + SEED_USERS % 2))

# Every socket is a file descriptor in the server and in the tool. The hard limit here
# is 20,000 and an unprivileged process cannot raise it, so the soft limit goes up to
# the hard limit and idle scenarios are capped by it.
FD_HARD_LIMIT="$(ulimit -Hn)"
if [ "$FD_HARD_LIMIT" = unlimited ]; then
    FD_HARD_LIMIT=1048576
fi
ulimit -n "$FD_HARD_LIMIT" || die "could not raise the open-files limit to $FD_HARD_LIMIT"
FD_LIMIT="$(ulimit -n)"
# Descriptors the server needs besides the sockets: database pool, listeners, logs.
SERVER_SPARE_FDS=200
for scenario in "${SCENARIOS[@]}"; do
    read -r kind count _ <<<"$scenario"
    if [ "$kind" = idle ] && [ $((count + SERVER_SPARE_FDS)) -gt "$FD_LIMIT" ]; then
        die "idle $count needs about $((count + SERVER_SPARE_FDS)) open files in the server, above this shell's limit of $FD_LIMIT"
    fi
done

ensure_ferretdb
ensure_s3s_fs
log "building careernexus and loadgen (release)"
cargo build --release --locked -p careernexus -p loadgen
SERVER_BIN="$CARGO_TARGET_DIR/release/careernexus"
LOADGEN="$CARGO_TARGET_DIR/release/loadgen"

WORK="$(mktemp -d)"
pids=()
SUCCEEDED=0
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [ "$SUCCEEDED" = 1 ]; then
        rm -rf "$WORK"
    else
        printf 'logs kept in %s (server.log, ferretdb.log, scenario outputs)\n' "$WORK" >&2
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

DB_PORT="$(free_port)"
S3_PORT="$(free_port)"
SERVER_PORT="$(free_port)"
URL="http://127.0.0.1:$SERVER_PORT"
pids+=("$(start_ferretdb "$DB_PORT" "$WORK/ferretdb" "$WORK/ferretdb.log")")
pids+=("$(start_s3s_fs "$S3_PORT" "$WORK/media" "$WORK/s3s-fs.log")")
wait_for_port "$DB_PORT" FerretDB
wait_for_port "$S3_PORT" s3s-fs

export CN__DATABASE__URI="mongodb://127.0.0.1:$DB_PORT/"
export CN__DATABASE__NAME=bench
export CN__MEDIA__ENDPOINT_URL="http://127.0.0.1:$S3_PORT"
export CN__SERVER__PORT="$SERVER_PORT"
export CN__SERVER__PUBLIC_BASE_URL="$URL"
# Sockets that never read (slow scenario) and sockets opened long before the run starts
# must not be closed for missing pongs. One hour outlasts every scenario.
export CN__REALTIME__CLIENT_TIMEOUT_MS=3600000
export RUST_LOG=warn

log "seeding $SEED_USERS load users"
"$SERVER_BIN" fixtures load-users --count "$SEED_USERS" >"$WORK/seed.log" 2>&1 ||
    die "seeding the load users failed; see $WORK/seed.log"

log "starting the server on $URL (log: $WORK/server.log)"
"$SERVER_BIN" serve >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
pids+=("$SERVER_PID")
wait_for_port "$SERVER_PORT" careernexus

# check_server NAME: fails when the server exited or its database stopped responding.
check_server() {
    kill -0 "$SERVER_PID" 2>/dev/null || die "the server exited during $1; see $WORK/server.log"
    curl -fsS -m 30 "$URL/readyz" >/dev/null ||
        die "the server is not ready after $1 (its database did not respond within 30 s); see $WORK/server.log and $WORK/ferretdb.log"
}

# rss_kib: prints the server's resident memory in KiB.
rss_kib() {
    awk '/^VmRSS:/ { print $2 }' "/proc/$SERVER_PID/status"
}

# run_chat NAME USERS RATE SLOW
run_chat() {
    local name=$1 users=$2 rate=$3 slow=$4
    local out="$WORK/$name.out"
    log "scenario $name: $users users, $rate messages/s, $slow slow sockets, ${WARMUP} s warmup + ${DURATION} s"
    "$LOADGEN" chat --url "$URL" --users "$users" --rate "$rate" --slow "$slow" \
        --signin-concurrency "$SIGNIN_CONCURRENCY" \
        --duration-secs "$DURATION" --warmup-secs "$WARMUP" --message-bytes "$MESSAGE_BYTES" \
        --connect-concurrency "$CHAT_CONNECT_CONCURRENCY" --server-pid "$SERVER_PID" >"$out" ||
        die "scenario $name failed; see the output above and $WORK/server.log"
    head -n -1 "$out" >&2
    printf '%s %s\n' "$name" "$(tail -n 1 "$out")"
}

# run_idle NAME SOCKETS: splits the sockets over processes and source addresses, samples
# the server's memory once every process reports its sockets open, and sums the reports.
run_idle() {
    local name=$1 sockets=$2
    local processes=$(((sockets + SOCKETS_PER_PROCESS - 1) / SOCKETS_PER_PROCESS))
    local addresses=$(((sockets + SOCKETS_PER_ADDRESS - 1) / SOCKETS_PER_ADDRESS))
    local users=$((sockets < IDLE_USERS ? sockets : IDLE_USERS))
    local local_addrs="127.0.0.1"
    for i in $(seq 2 "$addresses"); do local_addrs="$local_addrs,127.0.0.$i"; done
    log "scenario $name: $sockets sockets from $processes process(es) over $local_addrs, held ${HOLD} s"

    local rss_before
    rss_before="$(rss_kib)"
    local loadgen_pids=()
    for i in $(seq 1 "$processes"); do
        # Process i gets an equal share; the first ones take the remainder.
        local share=$((sockets / processes + (i <= sockets % processes ? 1 : 0)))
        rm -f "$WORK/$name-$i.ready"
        "$LOADGEN" idle --url "$URL" --users "$users" --sockets "$share" --local-addrs "$local_addrs" \
            --signin-concurrency $(((SIGNIN_CONCURRENCY + processes - 1) / processes)) \
            --hold-secs "$HOLD" --ready-file "$WORK/$name-$i.ready" >"$WORK/$name-$i.out" 2>"$WORK/$name-$i.err" &
        loadgen_pids+=("$!")
        pids+=("$!")
    done

    # Wait until every process has attempted all its sockets.
    while true; do
        local ready=0
        for i in $(seq 1 "$processes"); do
            [ -f "$WORK/$name-$i.ready" ] && ready=$((ready + 1))
        done
        [ "$ready" -eq "$processes" ] && break
        for i in $(seq 1 "$processes"); do
            if [ ! -f "$WORK/$name-$i.ready" ] && ! kill -0 "${loadgen_pids[$((i - 1))]}" 2>/dev/null; then
                cat "$WORK/$name-$i.err" >&2
                die "loadgen process $i of $name exited before opening its sockets; see the output above"
            fi
        done
        sleep 0.5
    done
    # Let the server finish the work that follows each open (registry, presence).
    sleep 2
    local rss_open
    rss_open="$(rss_kib)"

    for i in $(seq 1 "$processes"); do
        wait "${loadgen_pids[$((i - 1))]}" || {
            cat "$WORK/$name-$i.err" >&2
            die "loadgen process $i of $name failed; see the output above and $WORK/server.log"
        }
        head -n -1 "$WORK/$name-$i.out" >&2
    done
    local summed
    summed="$(sum_idle_reports "$rss_before" "$rss_open" "$addresses" "$WORK/$name"-*.out)" ||
        die "could not sum the reports of $name"
    printf '%s %s\n' "$name" "$summed"
}

# sum_idle_reports RSS_BEFORE RSS_OPEN ADDRESSES FILE...: prints one JSON report that sums
# the last lines of the FILEs and adds the server memory measured by this script.
sum_idle_reports() {
    python3 - "$@" <<'EOF'
import json
import sys

rss_before, rss_open, addresses = (int(value) for value in sys.argv[1:4])
reports = []
for path in sys.argv[4:]:
    with open(path) as file:
        reports.append(json.loads(file.read().splitlines()[-1]))

def total(key):
    return sum(report[key] for report in reports)

def merged(key):
    counts = {}
    for report in reports:
        for reason, count in report[key].items():
            counts[reason] = counts.get(reason, 0) + count
    return counts

open_sockets = total("sockets_open")
summary = {
    "scenario": "idle",
    "processes": len(reports),
    "local_addrs": addresses,
    "users": max(report["users"] for report in reports),
    "sockets_requested": total("sockets_requested"),
    "sockets_open": open_sockets,
    "sockets_failed": total("sockets_failed"),
    "failure_reasons": merged("failure_reasons"),
    "open_retries": total("open_retries"),
    # The processes open their sockets at the same time, so the slowest one is the time
    # to open all of them.
    "open_secs": max(report["open_secs"] for report in reports),
    "hold_secs": reports[0]["hold_secs"],
    "closed_unexpectedly": total("closed_unexpectedly"),
    "close_reasons": merged("close_reasons"),
    "pings_received": total("pings_received"),
    "other_frames_received": total("other_frames_received"),
    "server_rss_before_kib": rss_before,
    "server_rss_all_open_kib": rss_open,
    "server_bytes_per_socket": round((rss_open - rss_before) * 1024 / open_sockets, 1) if open_sockets else None,
}
print(json.dumps(summary, separators=(",", ":")))
EOF
}

for scenario in "${SCENARIOS[@]}"; do
    read -r kind first second third <<<"$scenario"
    case "$kind" in
        idle) run_idle "idle_$first" "$first" ;;
        chat) run_chat "chat_${first}_$second" "$first" "$second" 0 ;;
        slow) run_chat "slow_${first}_${second}_$third" "$first" "$second" "$third" ;;
    esac
    check_server "$scenario"
done
SUCCEEDED=1
