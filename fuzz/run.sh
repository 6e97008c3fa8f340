#!/bin/sh
# run.sh: runs every fuzz target for SECONDS on its corpus, JOBS (default 2) at a time, and sums up.
# SPDX-License-Identifier: BSD-3-Clause
# usage: fuzz/run.sh SECONDS [TARGET...]   (build first: make fuzz; seeds: fuzz/make-corpus.sh)
#        fuzz/run.sh --long [TARGET...]    (the documented long campaign: LONG_SECONDS, default 600, each)
# New inputs go to OUT/work/<target>/ (the committed seeds stay as they are); findings to OUT/crashes/,
# each printed (base64 and the first bytes) when the run ends. OUT: $FUZZ_OUT, default fuzz/; the
# binaries are looked for in $FUZZ_BIN (default fuzz/: a VPATH build has them in BUILD/fuzz/).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
fz=$top/fuzz
bindir=${FUZZ_BIN:-$fz}
out=${FUZZ_OUT:-$fz}
secs=${1:?usage: fuzz/run.sh SECONDS|--long [TARGET...]}
[ "$secs" != --long ] || secs=${LONG_SECONDS:-600}
shift
targets=${*:-jws json jwks b64url config store dpop sshcert continuation jwks_cache diff device}
jobs=${JOBS:-2}
mkdir -p "$out/crashes" "$out/logs"
export PJ_FUZZ_KEYS="$fz/keys"

run_one() {
	t=$1
	bin=$bindir/fuzz_$t
	[ -x "$bin" ] || { echo "$t: $bin missing (make fuzz)" >"$out/logs/$t.log"; return; }
	mkdir -p "$out/work/$t" "$fz/corpus/$t"
	max=4096
	[ "$t" = jws ] && max=20000
	[ "$t" = store ] && max=16384
	"$bin" -max_total_time="$secs" -max_len=$max -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$out/crashes/$t-" "$out/work/$t" "$fz/corpus/$t" >"$out/logs/$t.log" 2>&1
	echo $? >"$out/logs/$t.rc"
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
	log=$out/logs/$t.log
	rc=$(cat "$out/logs/$t.rc" 2>/dev/null || echo '?')
	last=$(grep -E '^#[0-9]+' "$log" 2>/dev/null | tail -1)
	execs=$(printf '%s' "$last" | sed -n 's/^#\([0-9]*\).*/\1/p')
	cov=$(printf '%s' "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
	ft=$(printf '%s' "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
	eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" 2>/dev/null)
	found=$(ls "$out/crashes" 2>/dev/null | grep -c "^$t-" || true)
	printf '%-8s %-4s %10s %8s %8s %8s  %s\n' "$t" "$rc" "${execs:-?}" "${eps:-?}" "${cov:-?}" "${ft:-?}" "$found"
	[ "$rc" = 0 ] || status=1
done
# every finding: its report and the input that triggered it
for f in "$out"/crashes/*; do
	[ -f "$f" ] || continue
	status=1
	t=$(basename "$f" | cut -d- -f1)
	echo "== finding $f ($(wc -c <"$f") bytes); reproduce: $bindir/fuzz_$t $f"
	grep -E 'ERROR|SUMMARY|pam_jwt says|differs|mismatch|changed|does not' "$out/logs/$t.log" | head -5
	echo "input (base64): $(base64 -w0 "$f")"
	od -An -c "$f" | head -8
done
echo "logs: $out/logs/; reproducers: $out/crashes/"
exit $status
