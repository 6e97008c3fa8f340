#!/bin/sh
# test_faults.sh: fault injection along a token verification: no crash, and a refusal or the right answer.
# SPDX-License-Identifier: BSD-3-Clause
# The Nth call of malloc, calloc, realloc, open, openat, read, write, fsync, rename, mmap or flock fails
# (tests/faultinj.c, preloaded) in pam-jwt verify, which runs pj_verify as pam_jwt.so does. For every fault
# point: no crash, and the answer is a refusal or exactly the fault-free one. (The PAM login with its store
# update is not swept yet: issue #12.)
. "$(dirname "$0")/lib.sh"

need_root
san_skip_all "the interposer replaces malloc, as ASan does; the plain build runs it"
FAULTINJ="$TOP_BUILDDIR/tests/.libs/faultinj.so"
[ -e "$FAULTINJ" ] || skip_all "tests/faultinj.so is not built"
make_scratch
ISS=https://idp.example.com
make_issuer "$SCRATCH" "$ISS" || { echo "Bail out! cannot make keys"; exit 1; }
mint "$SCRATCH" ES256 "$ISS" alice >"$SCRATCH/token"
FUNCS="malloc calloc realloc open openat read write fsync rename mmap flock"
MAX_POINTS=${PJ_FAULT_MAX_POINTS:-120} # per function and path; longer sweeps take every k-th call

# faulted FUNC N COMMAND...: COMMAND (a script that preloads faultinj.so into the program it runs, and only
# there) with the Nth call of FUNC failing; exit status in $rc, output in
# $SCRATCH/out; returns 1 when the Nth call was never reached (the sweep is over).
faulted() {
	f=$1 n=$2
	shift 2
	rm -f "$SCRATCH/fired"
	PJ_FAULT_FUNC=$f PJ_FAULT_N=$n PJ_FAULT_REPORT="$SCRATCH/fired" "$@" <"$SCRATCH/token" >"$SCRATCH/out" 2>&1
	rc=$?
	[ -e "$SCRATCH/fired" ]
}

# calls FUNC COMMAND...: how many calls of FUNC the fault-free COMMAND makes (a fault far past the end).
calls() {
	f=$1
	shift
	# count by bisection: the highest N that fires
	lo=0 hi=1
	while faulted "$f" "$hi" "$@"; do lo=$hi hi=$((hi * 2)); done
	while [ $((hi - lo)) -gt 1 ]; do
		mid=$(((lo + hi) / 2))
		if faulted "$f" "$mid" "$@"; then lo=$mid; else hi=$mid; fi
	done
	echo "$lo"
}

POINTS=0
# sweep NAME CHECK COMMAND...: every fault point of every function along COMMAND; CHECK (a shell function)
# says whether the outcome of one is acceptable.
sweep() {
	name=$1 check=$2
	shift 2
	bad=0 points=0
	for f in $FUNCS; do
		total=$(calls "$f" "$@")
		step=$(((total + MAX_POINTS - 1) / MAX_POINTS))
		[ "$step" -ge 1 ] || step=1
		n=1
		while [ "$n" -le "$total" ]; do
			faulted "$f" "$n" "$@"
			points=$((points + 1))
			if [ "$rc" -ge 128 ] || ! "$check"; then
				bad=$((bad + 1))
				[ "$bad" -gt 3 ] || diag "$name: $f call $n of $total: exit $rc: $(head -3 "$SCRATCH/out" | tr '\n' ' ')"
			fi
			n=$((n + step))
		done
	done
	POINTS=$((POINTS + points))
	# no fault point at all would mean the interposer never fired: nothing was tested
	[ "$bad" -eq 0 ] && [ "$points" -gt 0 ]
	ok $? "$name: $points fault points, every outcome a refusal or the fault-free answer, no crash ($bad bad)"
}

# ---- the token verification path (pam-jwt verify runs pj_verify, as pam_jwt.so does) ----
is_ok_verify() {
	case $rc in
	0) cmp -s "$SCRATCH/out" "$SCRATCH/want" ;;
	1 | 2) ! grep -q '^accepted' "$SCRATCH/out" ;;
	*) false ;;
	esac
}
"$PAM_JWT" verify --config "$SCRATCH/pam_jwt.conf" <"$SCRATCH/token" >"$SCRATCH/want" 2>&1 &&
	grep -q '^accepted' "$SCRATCH/want"
ok $? "fault-free: pam-jwt verify accepts the token"
printf 'exec env LD_PRELOAD="%s" "%s" verify --config "%s"\n' "$FAULTINJ" "$PAM_JWT" "$SCRATCH/pam_jwt.conf" \
	>"$SCRATCH/verify.sh"
sweep "pam-jwt verify" is_ok_verify sh "$SCRATCH/verify.sh"

diag "fault points exercised: $POINTS"
done_testing
