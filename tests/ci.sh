#!/bin/bash
# ci.sh: the whole test suite from a fresh clone: install dependencies, build with -Werror, make check.
# SPDX-License-Identifier: BSD-3-Clause
# Ends with a line "N passed, N failed" counting every TAP test case.
set -u
cd "$(dirname "$0")/.."
log() { echo "== $*"; }

sh tests/install-deps.sh || { echo "dependency installation failed"; echo "0 passed, 1 failed"; exit 1; }
log "build"
if ! { ./autogen.sh >/dev/null 2>&1 && ./configure --enable-werror >/dev/null && make -j2 >/dev/null; }; then
	echo "build failed"
	echo "0 passed, 1 failed"
	exit 1
fi
log "make check"
make -j2 check >make-check.out 2>&1
rc=$?
grep -E '^(PASS|FAIL|SKIP|ERROR|XFAIL|XPASS|#)' make-check.out | grep -vE '^(PASS|SKIP)' | head -100
for trs in tests/*.trs; do
	[ -f "$trs" ] || continue
	if grep -qE '^:test-result: (FAIL|ERROR|XPASS)' "$trs"; then
		log "failures in ${trs%.trs}.log:"
		grep -E '^not ok|^#' "${trs%.trs}.log" | head -30
	fi
done
# The packages: built from the committed tree, installed and purged in a throw-away overlay of / (issue #11).
log "make check-packages"
make check-packages >check-packages.out 2>&1
pkg_rc=$?
grep -E '^(not ok|Bail out)' check-packages.out
grep -A30 -E '^not ok' check-packages.out | grep '^#' | head -30
pkg_passed=$(grep -c '^ok ' check-packages.out)
pkg_failed=$(grep -cE '^(not ok|Bail out)' check-packages.out)
if [ "$pkg_rc" -ne 0 ] && [ "$pkg_failed" -eq 0 ]; then
	pkg_failed=1
fi
passed=$(($(cat tests/*.trs 2>/dev/null | grep -cE '^:test-result: (PASS|XFAIL)') + pkg_passed))
failed=$(($(cat tests/*.trs 2>/dev/null | grep -cE '^:test-result: (FAIL|ERROR|XPASS)') + pkg_failed))
skipped=$(cat tests/*.trs 2>/dev/null | grep -cE '^:test-result: SKIP')
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
	failed=1
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$rc" -eq 0 ] && [ "$pkg_rc" -eq 0 ] && [ "$failed" -eq 0 ]
