#!/bin/sh
# coverage.sh: line and branch coverage of pam_jwt/ store/ nss/ pam/ cli/ after make check (gcovr), and its gates.
# SPDX-License-Identifier: BSD-3-Clause
# usage: tests/coverage.sh [--enforce]   (make coverage, in a build configured with --enable-coverage)
# Gates: each file of the verification path at least 95% of its lines, pam_jwt/ as a whole at least 85%.
# Prints every file's figures and each gate; with --enforce, exits 1 when a gate is not met.
set -u
enforce=${1:-}
# canonical paths: gcovr's filters are matched against resolved file names ("build/.." would match none)
top=$(cd "${TOP_SRCDIR:?}" && pwd -P)
build=$(cd "${TOP_BUILDDIR:?}" && pwd -P)
command -v gcovr >/dev/null 2>&1 || { echo "gcovr not installed (apt-get install gcovr)"; exit 1; }
out=$build/coverage
rm -rf "$out" && mkdir -p "$out"
filters="--filter $top/pam_jwt/ --filter $top/store/ --filter $top/nss/ --filter $top/pam/ --filter $top/cli/"
# shellcheck disable=SC2086
gcovr -r "$top" --object-directory "$build" --gcov-ignore-parse-errors $filters --json-summary "$out/summary.json" \
	--txt "$out/lines.txt" >/dev/null 2>&1 || { echo "gcovr failed"; exit 1; }
python3 - "$out/summary.json" "$enforce" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
path = "b64url json_strict jws jws_alg jwk jws_sig claims identity verify keystore".split()
def pct(c, t): return 100.0 * c / t if t else 100.0
print("%-34s %7s %13s %7s %13s" % ("file", "lines", "", "branch", ""))
lib_c = lib_t = 0
fails = []
for f in sorted(d["files"], key=lambda f: f["filename"]):
    n = f["filename"]
    lc, lt, bc, bt = f["line_covered"], f["line_total"], f["branch_covered"], f["branch_total"]
    print("%-34s %6.1f%% %6d/%-6d %6.1f%% %6d/%-6d" % (n, pct(lc, lt), lc, lt, pct(bc, bt), bc, bt))
    if n.startswith("pam_jwt/"):
        lib_c += lc; lib_t += lt
        stem = n[len("pam_jwt/"):-2]
        if stem in path and pct(lc, lt) < 95.0:
            fails.append("%s: %.1f%% of lines, under 95%%" % (n, pct(lc, lt)))
print("%-34s %6.1f%% %6d/%-6d" % ("pam_jwt/ (all)", pct(lib_c, lib_t), lib_c, lib_t))
print("all: %.1f%% lines, %.1f%% branches" % (100 * d["line_percent"] / 100, 100 * d["branch_percent"] / 100))
if pct(lib_c, lib_t) < 85.0:
    fails.append("pam_jwt/ as a whole: %.1f%% of lines, under 85%%" % pct(lib_c, lib_t))
for f in fails:
    print("coverage gate not met: " + f)
print("coverage gates: %d not met" % len(fails))
sys.exit(1 if fails and sys.argv[2] == "--enforce" else 0)
PY
