# bench.gnuplot: NSS lookup latency, then login cost, against store size (pam_jwt vs files / pam_permit), log-log;
# SPDX-License-Identifier: BSD-3-Clause
# run by bench/run.sh in results/, reading nss.dat (written by bench/report.py).
set terminal pngcairo size 1000,1280 font ",11"
set output "bench.png"
set multiplot layout 2,1
set title "NSS lookup latency through glibc: libnss\\_jwt store vs files (median CPU microseconds)"
set xlabel "users (groups = users / 10)"
set ylabel "microseconds per lookup"
set logscale xy
set format x "%.0s%c"
set format y "10^{%L}"
set xrange [500:200000]
set grid xtics ytics mxtics mytics lc rgb "#dddddd"
set key outside right center
set style line 1 lc rgb "#1b6ac9" lw 2 pt 7
set style line 2 lc rgb "#2ca02c" lw 2 pt 5
set style line 3 lc rgb "#d62728" lw 2 pt 9
set style line 4 lc rgb "#9467bd" lw 2 pt 11
plot "nss.dat" using 1:2 with linespoints ls 1 title "getpwnam jwt", \
     "" using 1:3 with linespoints ls 1 dt 2 title "getpwnam files", \
     "" using 1:4 with linespoints ls 2 title "getpwuid jwt", \
     "" using 1:5 with linespoints ls 2 dt 2 title "getpwuid files", \
     "" using 1:6 with linespoints ls 3 title "getgrnam jwt", \
     "" using 1:7 with linespoints ls 3 dt 2 title "getgrnam files", \
     "" using 1:8 with linespoints ls 4 title "initgroups jwt", \
     "" using 1:9 with linespoints ls 4 dt 2 title "initgroups files"
# second chart (issue #10): login cost against store size, from scale.dat (bench_scale)
unset logscale
set logscale xy
set title "Login cost against user store size: one process (median microseconds)"
set xlabel "users in the store"
set ylabel "microseconds per login"
set xrange [500:2000000]
plot "scale.dat" using 1:2 with linespoints ls 1 title "returning login pam\\_jwt RS256 (one handle)", \
     "" using 1:3 with linespoints ls 2 title "returning login pam\\_jwt ES256 (one handle)", \
     "" using 1:4 with linespoints ls 4 title "pam\\_permit (one handle)", \
     "" using 1:5 with linespoints ls 3 title "first login pam\\_jwt (new handle: fresh module)", \
     "" using 1:6 with linespoints ls 3 dt 2 title "first login: store work alone"
unset multiplot
