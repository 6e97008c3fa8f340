#!/bin/bash
# ci.sh: the whole test suite from a fresh clone: dependencies, builds (plain and sanitized), checks.
# SPDX-License-Identifier: BSD-3-Clause
# Ends with a line "N passed, N failed, N skipped" counting every TAP test case of every build, and every CI step.
# Builds go to build/ (-Werror) and build-asan/ (ASan + UBSan) beside the sources (VPATH): a source tree
# configured in place is cleaned first (make distclean), since VPATH builds need an unconfigured one.
set -u
cd "$(dirname "$0")/.."
TOP=$PWD
PASSED=0 FAILED=0 SKIPPED=0
STARTED=$(date +%s)
log() { echo "== $* ($(($(date +%s) - STARTED)) s)"; }
finish() {
	log "done"
	echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
	[ "$FAILED" -eq 0 ]
	exit
}

# tally NAME RC PASSED FAILED [SKIPPED]: adds one step's counts to the totals; a step that exits non-zero
# without a failed case counts one failure, so every failure makes CI red.
tally() {
	f=$4
	[ "$2" -eq 0 ] || [ "$f" -ne 0 ] || f=1
	echo "== $1: $3 passed, $f failed, ${5:-0} skipped"
	PASSED=$((PASSED + $3)) FAILED=$((FAILED + f)) SKIPPED=$((SKIPPED + ${5:-0}))
}

# step NAME [--tap] COMMAND...: one CI step, its output in ci-logs/NAME.log. It counts as one test, or with
# --tap as the TAP cases its output holds ("ok", "not ok", "Bail out!" lines). When it fails, its failed
# cases and their diagnostics are shown, or when it has none the last lines of the log.
step() {
	name=$1 tap=
	shift
	[ "$1" != --tap ] || { tap=1 && shift; }
	log "$name"
	"$@" >"$TOP/ci-logs/$name.log" 2>&1
	rc=$?
	if [ -n "$tap" ]; then
		p=$(grep -c '^ok ' "$TOP/ci-logs/$name.log")
		f=$(grep -cE '^(not ok|Bail out)' "$TOP/ci-logs/$name.log")
	else
		p=0 f=0
		[ "$rc" -ne 0 ] || p=1
	fi
	if [ "$rc" -ne 0 ] || [ "$f" -ne 0 ]; then
		echo "FAIL: $name (exit $rc); from ci-logs/$name.log:"
		if [ "$f" -ne 0 ]; then
			grep -E '^(not ok|Bail out|#)' "$TOP/ci-logs/$name.log" | head -40
		else
			tail -40 "$TOP/ci-logs/$name.log"
		fi | sed 's/^/    /'
	fi
	tally "$name" "$rc" "$p" "$f"
}

# suite DIR CONFIGURE_ARGS...: configure and build in DIR, then make check there; every TAP case counts.
suite() {
	dir=$1
	shift
	log "build in $dir: configure $*"
	if ! { rm -rf "$TOP/$dir" && mkdir "$TOP/$dir" && cd "$TOP/$dir" && ../configure "$@" >configure.out 2>&1 &&
		make -j2 >make.out 2>&1; }; then
		out=configure.out
		[ ! -f make.out ] || out=make.out
		echo "FAIL: the build in $dir failed; the end of $dir/$out:"
		tail -30 "$out" 2>/dev/null | sed 's/^/    /'
		tally "build in $dir" 1 0 1
		cd "$TOP" && return
	fi
	log "make check in $dir"
	# each test is bounded (tests/bounded.sh, PJ_TEST_TIMEOUT); the whole make check too, in case something
	# outside a test hangs: CI must end with its counts, within its time
	timeout -k 60 "${CI_CHECK_TIMEOUT:-2700}" make -j2 check >make-check.out 2>&1
	rc=$?
	grep -E '^(FAIL|ERROR|XPASS|#)' make-check.out | head -100
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		echo "FAIL: make check in $dir did not finish within ${CI_CHECK_TIMEOUT:-2700} s; tests that had not ended:"
		for log in tests/*.log; do [ -f "${log%.log}.trs" ] || echo "    ${log%.log}"; done
	fi
	for trs in tests/*.trs; do
		[ -f "$trs" ] || continue
		if grep -qE '^:test-result: (FAIL|ERROR|XPASS)' "$trs"; then
			echo "== failures in $dir/${trs%.trs}.log:"
			# a test that hung shows bounded.sh's report: its processes and their stacks
			if grep -q '^# .* did not finish within [0-9]* s' "${trs%.trs}.log"; then
				sed -n '/^# .* did not finish within [0-9]* s/,$p' "${trs%.trs}.log" | cut -c1-200 | head -100
			# a test that died without a failed case (a sanitizer report, a crash) shows its last lines
			elif grep -qE '^not ok|^Bail out' "${trs%.trs}.log"; then
				grep -E '^not ok|^Bail out|^#' "${trs%.trs}.log" | head -30
			else
				tail -30 "${trs%.trs}.log"
			fi
		fi
	done
	tally "$dir" "$rc" "$(cat tests/*.trs 2>/dev/null | grep -cE '^:test-result: (PASS|XFAIL)')" \
		"$(cat tests/*.trs 2>/dev/null | grep -cE '^:test-result: (FAIL|ERROR|XPASS)')" \
		"$(cat tests/*.trs 2>/dev/null | grep -cE '^:test-result: SKIP')"
	cd "$TOP" || exit 1
}

sh tests/install-deps.sh || { echo "dependency installation failed"; FAILED=1; finish; }
[ ! -f config.status ] || { log "make distclean (configured in place)"; make distclean >/dev/null 2>&1; }
./autogen.sh >/dev/null 2>&1 || { echo "autogen.sh failed"; FAILED=1; finish; }
rm -rf ci-logs && mkdir ci-logs

suite build --enable-werror
# the packages (issue #11): built from the committed tree, installed, used and purged in a throw-away
# overlay of /; every TAP case counts
step check-packages --tap make -C build check-packages
# every fuzz target for CI_FUZZ_SECONDS (default 20) from the committed corpus: a finding fails the step
# and fuzz/run.sh prints its input (the long campaign: fuzz/run.sh --long, fuzz/README.md)
fuzz_campaign() {
	mkdir -p build/fuzz && make -C build fuzz >build/fuzz/make.out 2>&1 || { tail -20 build/fuzz/make.out; return 1; }
	FUZZ_BIN="$TOP/build/fuzz" FUZZ_OUT="$TOP/build/fuzz" sh fuzz/run.sh "${CI_FUZZ_SECONDS:-20}"
}
step fuzz fuzz_campaign
cat ci-logs/fuzz.log
# static analysis (gcc -fanalyzer, scan-build, cppcheck): enforced, any finding fails the step and is listed
# (a suppression goes at its line with a comment saying why: tests/static-analysis.sh, docs/HACKING.md)
step static-analysis make -C build static-analysis STATIC_ANALYSIS_ARGS=--enforce
tail -1 ci-logs/static-analysis.log
suite build-asan --enable-werror --enable-sanitizers
# coverage: a third build with gcov, make check there, line and branch coverage per file and the gates
# (each file of the verification path >= 95% of lines, pam_jwt/ >= 85%), enforced: a gate not met fails
# the step (the per-file table is printed either way)
coverage_report() {
	rm -rf build-cov && mkdir build-cov && cd build-cov && ../configure --enable-werror --enable-coverage >configure.out 2>&1 &&
		make -j2 >make.out 2>&1 && make -j2 coverage COVERAGE_ARGS=--enforce >coverage.out 2>&1
	rc=$?
	sed -n '/^file /,$p' coverage.out
	cd "$TOP" && return $rc
}
step coverage coverage_report
sed -n '/^file /,$p' ci-logs/coverage.log
finish
