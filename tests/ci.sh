#!/bin/bash
# ci.sh: the whole test suite from a fresh clone: dependencies, builds (plain and sanitized), checks.
# SPDX-License-Identifier: BSD-3-Clause
# Ends with a line "N passed, N failed" counting every TAP test case of every build, and every CI step.
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

# step NAME COMMAND...: one CI step, counted as one test; its output goes to ci-logs/NAME.log, whose last
# lines are shown when it fails.
step() {
	name=$1
	shift
	log "$name"
	"$@" >"$TOP/ci-logs/$name.log" 2>&1
	rc=$?
	if [ $rc -eq 0 ]; then
		PASSED=$((PASSED + 1))
	else
		FAILED=$((FAILED + 1))
		echo "FAIL: $name (exit $rc); the end of ci-logs/$name.log:"
		tail -40 "$TOP/ci-logs/$name.log" | sed 's/^/    /'
	fi
}

# suite DIR CONFIGURE_ARGS...: configure and build in DIR, then make check there; every TAP case counts.
suite() {
	dir=$1
	shift
	log "build in $dir: configure $*"
	rm -rf "$TOP/$dir" && mkdir "$TOP/$dir" && cd "$TOP/$dir" || exit 1
	if ! { ../configure "$@" >configure.out 2>&1 && make -j2 >make.out 2>&1; }; then
		echo "FAIL: the build in $dir failed:"
		tail -30 configure.out make.out 2>/dev/null | sed 's/^/    /'
		FAILED=$((FAILED + 1))
		cd "$TOP" && return
	fi
	log "make check in $dir"
	make -j2 check >make-check.out 2>&1
	rc=$?
	grep -E '^(FAIL|ERROR|XPASS|#)' make-check.out | head -100
	for trs in tests/*.trs; do
		[ -f "$trs" ] || continue
		if grep -qE '^:test-result: (FAIL|ERROR|XPASS)' "$trs"; then
			echo "== failures in $dir/${trs%.trs}.log:"
			grep -E '^not ok|^#' "${trs%.trs}.log" | head -30
		fi
	done
	p=$(cat tests/*.trs 2>/dev/null | grep -cE '^:test-result: (PASS|XFAIL)')
	f=$(cat tests/*.trs 2>/dev/null | grep -cE '^:test-result: (FAIL|ERROR|XPASS)')
	s=$(cat tests/*.trs 2>/dev/null | grep -cE '^:test-result: SKIP')
	[ "$rc" -eq 0 ] || [ "$f" -ne 0 ] || f=1
	echo "== $dir: $p passed, $f failed, $s skipped"
	PASSED=$((PASSED + p)) FAILED=$((FAILED + f)) SKIPPED=$((SKIPPED + s))
	cd "$TOP" || exit 1
}

sh tests/install-deps.sh || { echo "dependency installation failed"; FAILED=1; finish; }
[ ! -f config.status ] || { log "make distclean (configured in place)"; make distclean >/dev/null 2>&1; }
./autogen.sh >/dev/null 2>&1 || { echo "autogen.sh failed"; FAILED=1; finish; }
rm -rf ci-logs && mkdir ci-logs

suite build --enable-werror
# the packages (issue #11): built from the committed tree, installed, used and purged in a throw-away
# overlay of /; every TAP case counts
log "make check-packages"
make -C build check-packages >ci-logs/check-packages.log 2>&1
pkg_rc=$?
grep -E '^(not ok|Bail out)' ci-logs/check-packages.log
grep -A30 -E '^not ok' ci-logs/check-packages.log | grep '^#' | head -30
pkg_passed=$(grep -c '^ok ' ci-logs/check-packages.log)
pkg_failed=$(grep -cE '^(not ok|Bail out)' ci-logs/check-packages.log)
[ "$pkg_rc" -eq 0 ] || [ "$pkg_failed" -ne 0 ] || pkg_failed=1
echo "== check-packages: $pkg_passed passed, $pkg_failed failed"
PASSED=$((PASSED + pkg_passed)) FAILED=$((FAILED + pkg_failed))
# every fuzz target for CI_FUZZ_SECONDS (default 20) from the committed corpus: a finding fails the step
# and fuzz/run.sh prints its input (the long campaign: fuzz/run.sh --long, fuzz/README.md)
fuzz_campaign() {
	mkdir -p build/fuzz && make -C build fuzz >build/fuzz/make.out 2>&1 || { tail -20 build/fuzz/make.out; return 1; }
	FUZZ_BIN="$TOP/build/fuzz" FUZZ_OUT="$TOP/build/fuzz" sh fuzz/run.sh "${CI_FUZZ_SECONDS:-20}"
}
step fuzz fuzz_campaign
cat ci-logs/fuzz.log
# static analysis: reported, not yet enforced (the findings are being triaged, issue #12)
step static-analysis make -C build static-analysis
tail -1 ci-logs/static-analysis.log
suite build-asan --enable-werror --enable-sanitizers
# coverage: a third build with gcov, make check there, line and branch coverage per file and the gates
# (each file of the verification path >= 95% of lines, pam_jwt/ >= 85%): reported, not yet enforced
coverage_report() {
	rm -rf build-cov && mkdir build-cov && cd build-cov && ../configure --enable-werror --enable-coverage >configure.out 2>&1 &&
		make -j2 >make.out 2>&1 && make -j2 coverage >coverage.out 2>&1
	rc=$?
	sed -n '/^file /,$p' coverage.out
	cd "$TOP" && return $rc
}
step coverage coverage_report
sed -n '/^file /,$p' ci-logs/coverage.log
finish
