#!/bin/sh
# static-analysis.sh: gcc -fanalyzer, clang's scan-build and cppcheck over pam_jwt/ store/ nss/ pam/ cli/.
# SPDX-License-Identifier: BSD-3-Clause
# usage: tests/static-analysis.sh [--enforce]   (from a configured build directory: make static-analysis)
# Prints every finding and the count per tool; with --enforce, exits 1 when there is any. A suppression
# goes at its line, with a comment saying why the finding cannot happen.
set -u
enforce=${1:-}
top=${TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
build=${TOP_BUILDDIR:-$PWD}
out=$build/static-analysis
rm -rf "$out" && mkdir -p "$out"
dirs="pam_jwt store nss pam cli"
# shellcheck disable=SC2089 # the escaped quotes are meant literally: they make the macros C strings
cflags="-std=gnu11 -O1 -I$top -I$build -I$top/pam_jwt -DHAVE_CONFIG_H -DPJ_STATE_DIR=\"/var/lib/pam_jwt\"
 -DPJ_SYSCONFDIR=\"/etc\" -DPJ_DEFAULT_CONFIG=\"/etc/pam_jwt.conf\" -DPJ_BINDIR=\"/usr/bin\"
 $(pkg-config --cflags libcrypto json-c libcurl libqrencode pam 2>/dev/null)"

# gcc -fanalyzer, one compilation unit at a time
for d in $dirs; do
	for f in "$top/$d"/*.c; do
		# shellcheck disable=SC2086,SC2090
		gcc $cflags -fanalyzer -c "$f" -o /dev/null 2>&1
	done
done >"$out/fanalyzer.log"
# a file that does not compile here was not analysed: its errors count as findings
fanalyzer=$(grep -cE 'warning:|error:' "$out/fanalyzer.log")

# cppcheck (warnings, portability, performance; inline suppressions honoured)
# shellcheck disable=SC2086
(cd "$top" && cppcheck -q --enable=warning,portability,performance --inline-suppr --std=c11 \
	--template='{file}:{line}: {severity}: {message} [{id}]' -I. -Ipam_jwt -DPJ_STATE_DIR='"/x"' $dirs) \
	>"$out/cppcheck.log" 2>&1
cppcheck=$(grep -cE ': (error|warning|portability|performance): ' "$out/cppcheck.log")

# scan-build over a build of its own (VPATH, in $out/scan-build)
mkdir "$out/scan-build"
# (a build that fails analysed nothing, so it counts as a finding: a source tree configured in place, say)
scan_failed=0
(cd "$out/scan-build" && scan-build "$top/configure" >/dev/null 2>&1 &&
	scan-build -o "$out/scan-build/report" make -j2 all >"$out/scan-build.log" 2>&1) || {
	echo "scan-build: the build failed (configure needs a source tree not configured in place)" >>"$out/scan-build.log"
	scan_failed=1
}
scan=$(($(grep -E '^\.\./|^/' "$out/scan-build.log" | grep -c 'warning:') + scan_failed))

grep -E 'warning:|error:' "$out/fanalyzer.log" | sed 's/^/fanalyzer: /'
grep -E ': (error|warning|portability|performance): ' "$out/cppcheck.log" | sed 's/^/cppcheck: /'
grep 'warning:' "$out/scan-build.log" | grep -v '^scan-build' | sed 's/^/scan-build: /'
[ "$scan_failed" -eq 0 ] || tail -5 "$out/scan-build.log" | sed 's/^/scan-build: /'
total=$((fanalyzer + cppcheck + scan))
echo "static analysis: gcc -fanalyzer $fanalyzer, cppcheck $cppcheck, scan-build $scan findings ($total in all)"
[ "$enforce" != --enforce ] || [ "$total" -eq 0 ]
