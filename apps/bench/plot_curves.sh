#!/usr/bin/env bash
# Draws the wide-area curves of a bench_curves.sh CSV with gnuplot, as SVG:
#   PREFIX-throughput.svg  ops/s against clients, a line per (nodes, RTT),
#                          beside the closed-loop bound C / RTT
#   PREFIX-latency.svg     p50 and p99 against clients, a panel per RTT
#   apps/bench/plot_curves.sh CSV [PREFIX]     (PREFIX default: docs/wan)
set -euo pipefail
CSV=${1:?usage: plot_curves.sh CSV [PREFIX]}
PREFIX=${2:-docs/wan}
command -v gnuplot >/dev/null || { echo "plot_curves.sh: gnuplot is missing (apt-get install gnuplot-nox)" >&2; exit 2; }

# The CSV's columns, by name (csv_header in apps/bench/bench.cpp).
col() { head -1 "$CSV" | tr ',' '\n' | grep -nx "$1" | cut -d: -f1; }
NODES=$(col nodes) RTT=$(col rtt_ms) CLIENTS=$(col clients) OPS=$(col ops_per_s) P50=$(col p50_us) P99=$(col p99_us)
LOSSY=$(col lossy_follower)
rtts=$(tail -n +2 "$CSV" | cut -d, -f"$RTT" | sort -un | tr '\n' ' ')
nodes=$(tail -n +2 "$CSV" | cut -d, -f"$NODES" | sort -un | tr '\n' ' ')
fsync=$(tail -n +2 "$CSV" | cut -d, -f"$(col fdatasync_per_s)" | sort -n | sed -n '1p;$p' | paste -sd- -)
durability=$(tail -n +2 "$CSV" | cut -d, -f"$(col durability)" | sort -u | paste -sd/ -)
# CSVs written before the column existed were all with drains off (0).
drain_col=$(col completions_per_drain || true)
drains=0
[[ -n $drain_col ]] && drains=$(tail -n +2 "$CSV" | cut -d, -f"$drain_col" | sort -un | paste -sd/ -)

# One data block per (nodes, rtt), sorted by clients, without lossy-follower lines.
data=$(mktemp)
trap 'rm -f "$data"' EXIT
for n in $nodes; do
    for r in $rtts; do
        echo "# nodes $n rtt $r"
        awk -F, -v n="$n" -v r="$r" -v N="$NODES" -v R="$RTT" -v L="$LOSSY" -v C="$CLIENTS" -v O="$OPS" -v P="$P50" -v Q="$P99" \
            'NR > 1 && $N == n && $R == r && $L == 0 { print $C, $O, $P / 1000, $Q / 1000 }' "$CSV" | sort -n
        printf '\n\n'
    done
done >"$data"

plots="" latency="" i=0 pt=5
for n in $nodes; do
    for r in $rtts; do
        plots+="'$data' index $i using 1:2 with linespoints pt $pt title '$n nodes, RTT $r ms', "
        i=$((i + 1))
    done
    pt=7
done
bounds=""
for r in $rtts; do bounds+="x / ($r / 1000.0) with lines dt 2 lc rgb 'gray' title 'C / RTT, $r ms', "; done

gnuplot <<GP
set terminal svg size 900,560 dynamic font 'sans,12'
set datafile separator ' '
set output '$PREFIX-throughput.svg'
set title "raftlite-bench: committed ops/s against clients (closed loop, 256 B, durability $durability, completions per drain $drains)\nfdatasync/s of the runs: $fsync"
set xlabel 'clients'
set ylabel 'ops/s'
set logscale xy
set xrange [0.8:400]
set yrange [10:200000]
set key outside right
set grid
plot $plots ${bounds%, }
GP

nr=$(wc -w <<<"$rtts")
{
    echo "set terminal svg size 1200,480 dynamic font 'sans,12'"
    echo "set output '$PREFIX-latency.svg'"
    echo "set multiplot layout 1,$nr title 'raftlite-bench: p50 (solid) and p99 (dashed) latency against clients, per round trip'"
    echo "set logscale x; set logscale y; set xrange [0.8:400]; set grid; set xlabel 'clients'; set ylabel 'ms'; set key bottom right"
    k=0
    for r in $rtts; do
        echo "set title 'RTT $r ms'"
        line="plot "
        j=0 lt=1
        for n in $nodes; do
            idx=$((j * nr + k))
            line+="'$data' index $idx using 1:3 with linespoints lt $lt title '$n nodes p50', "
            line+="'$data' index $idx using 1:4 with linespoints lt $lt dt 2 title '$n nodes p99', "
            j=$((j + 1)); lt=$((lt + 1))
        done
        echo "${line%, }, $r with lines lc rgb 'gray' dt 3 title 'RTT'"
        k=$((k + 1))
    done
    echo "unset multiplot"
} | gnuplot
echo "plot_curves: wrote $PREFIX-throughput.svg and $PREFIX-latency.svg" >&2
