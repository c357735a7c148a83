#!/usr/bin/env bash
# Draws docs/bench/peers.png (client CPU per request, nethttp and its peers,
# per workload) from docs/bench/peers.dat with gnuplot; scripts/bench.sh
# writes peers.dat and runs this. OUT=DIR reads and writes DIR instead.
# Installs gnuplot-nox if missing.
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
ensure_packages gnuplot-nox
cd "${OUT:-$NETHTTP_ROOT/docs/bench}" || exit 1
gnuplot <<'PLOT'
set terminal pngcairo size 1100,460 font "DejaVu Sans,10"
set output "peers.png"
set title "Client CPU per request against nginx on 127.0.0.1 (lower is better)"
set ylabel "µs of CPU per request (log scale)"
set logscale y
set yrange [1:*]
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set key outside right top
set grid ytics
set datafile missing "-1"
plot "peers.dat" using 2:xtic(1) title "nethttp" lc rgb "#1b7837", \
     "" using 3 title "Go net/http" lc rgb "#5aae61", \
     "" using 4 title "libcurl" lc rgb "#2166ac", \
     "" using 5 title "cpp-httplib" lc rgb "#67a9cf", \
     "" using 6 title "undici" lc rgb "#b2182b", \
     "" using 7 title "wrk (load tool)" lc rgb "#999999"
PLOT
echo "wrote $PWD/peers.png"
