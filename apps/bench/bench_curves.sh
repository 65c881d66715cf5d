#!/usr/bin/env bash
# The wide-area curves: raftlite-bench --csv over clients × round trip ×
# nodes, one short run each, into one CSV; then plot_curves.sh draws them.
#
#   apps/bench/bench_curves.sh [--clients "1 4 16 64 256"] [--rtt "1 10 50"]
#       [--nodes "3 5"] [--seconds 3] [--durability fsync|none] [--drain 16]
#       [--csv docs/wan-curves.csv] [--svg-prefix docs/wan] [-- extra raftlite-bench options]
#
# --drain is raftlite-bench --completions-per-drain, the setting for
# wide-area links (node_options::completions_per_drain; 0 turns it off).
# Every run prints its own references (fdatasync/s, loopback RTT, RTT through
# the relay) in its CSV line. Needs root for the network namespaces (add
# --no-netns after `--` to run the relay on loopback instead).
set -euo pipefail
cd "$(dirname "$0")/../.."

CLIENTS="1 4 16 64 256"
RTTS="1 10 50"
NODES="3 5"
SECONDS_EACH=3
DURABILITY=fsync
DRAIN=16
CSV=docs/wan-curves.csv
SVG_PREFIX=docs/wan
BENCH=${RAFTLITE_BENCH:-stage/bin/raftlite-bench}
EXTRA=()
while (($#)); do
    case $1 in
        --clients) CLIENTS=$2; shift 2 ;;
        --rtt) RTTS=$2; shift 2 ;;
        --nodes) NODES=$2; shift 2 ;;
        --seconds) SECONDS_EACH=$2; shift 2 ;;
        --durability) DURABILITY=$2; shift 2 ;;
        --drain) DRAIN=$2; shift 2 ;;
        --csv) CSV=$2; shift 2 ;;
        --svg-prefix) SVG_PREFIX=$2; shift 2 ;;
        --) shift; EXTRA=("$@"); break ;;
        *) echo "bench_curves.sh: unknown argument '$1' (see the comment at the top)" >&2; exit 2 ;;
    esac
done
[[ -x $BENCH ]] || { echo "bench_curves.sh: $BENCH not built (./run build)" >&2; exit 2; }

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
header_written=0
echo "bench_curves: load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for nodes in $NODES; do
    for rtt in $RTTS; do
        for clients in $CLIENTS; do
            echo "bench_curves: nodes $nodes, rtt $rtt ms, $clients clients" >&2
            if ! "$BENCH" --csv --nodes "$nodes" --rtt-ms "$rtt" --clients "$clients" --seconds "$SECONDS_EACH" \
                    --warmup 1 --durability "$DURABILITY" --completions-per-drain "$DRAIN" "${EXTRA[@]}" >"$tmp" 2>"$tmp.err"; then
                echo "bench_curves: run failed:" >&2; tail -5 "$tmp.err" >&2; rm -f "$tmp.err"; exit 1
            fi
            if ((header_written == 0)); then head -1 "$tmp" >"$CSV"; header_written=1; fi
            tail -n +2 "$tmp" >>"$CSV"
            tail -n +2 "$tmp" >&2
        done
    done
done
rm -f "$tmp.err"
echo "bench_curves: load average after: $(cut -d' ' -f1-3 /proc/loadavg); wrote $CSV" >&2
"$(dirname "$0")/plot_curves.sh" "$CSV" "$SVG_PREFIX"
