#!/bin/sh
# run.sh: runs every fuzz target for SECONDS on its corpus, JOBS (default 2) at a time, and sums up.
# SPDX-License-Identifier: BSD-3-Clause
# usage: fuzz/run.sh SECONDS [TARGET...]   (build first: make fuzz; seeds: fuzz/make-corpus.sh)
# New inputs go to fuzz/work/<target>/ (the committed seeds stay as they are); findings to fuzz/crashes/.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
fz=$top/fuzz
secs=${1:?usage: fuzz/run.sh SECONDS [TARGET...]}
shift
targets=${*:-jws json jwks b64url config store dpop sshcert}
jobs=${JOBS:-2}
mkdir -p "$fz/crashes" "$fz/logs"
export PJ_FUZZ_KEYS="$fz/keys"

run_one() {
	t=$1
	bin=$fz/fuzz_$t
	[ -x "$bin" ] || { echo "$t: $bin missing (make fuzz)" >"$fz/logs/$t.log"; return; }
	mkdir -p "$fz/work/$t" "$fz/corpus/$t"
	max=4096
	[ "$t" = jws ] && max=20000
	[ "$t" = store ] && max=16384
	"$bin" -max_total_time="$secs" -max_len=$max -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$fz/crashes/$t-" "$fz/work/$t" "$fz/corpus/$t" >"$fz/logs/$t.log" 2>&1
	echo $? >"$fz/logs/$t.rc"
}

# JOBS targets at a time
set -- $targets
while [ $# -gt 0 ]; do
	pids=
	n=0
	while [ $# -gt 0 ] && [ $n -lt "$jobs" ]; do
		run_one "$1" &
		pids="$pids $!"
		n=$((n + 1))
		shift
	done
	for p in $pids; do wait "$p"; done
done

# summary: the last status line of each run, and what it found
status=0
printf '%-8s %-4s %10s %8s %8s %8s  %s\n' target rc execs exec/s cov ft findings
for t in $targets; do
	log=$fz/logs/$t.log
	rc=$(cat "$fz/logs/$t.rc" 2>/dev/null || echo '?')
	last=$(grep -E '^#[0-9]+' "$log" 2>/dev/null | tail -1)
	execs=$(printf '%s' "$last" | sed -n 's/^#\([0-9]*\).*/\1/p')
	cov=$(printf '%s' "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
	ft=$(printf '%s' "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
	eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" 2>/dev/null)
	found=$(ls "$fz/crashes" 2>/dev/null | grep -c "^$t-" || true)
	printf '%-8s %-4s %10s %8s %8s %8s  %s\n' "$t" "$rc" "${execs:-?}" "${eps:-?}" "${cov:-?}" "${ft:-?}" "$found"
	[ "$rc" = 0 ] || status=1
done
echo "logs: $fz/logs/; reproducers: $fz/crashes/"
exit $status
