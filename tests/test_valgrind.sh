#!/bin/sh
# test_valgrind.sh: the verify path (accepted and refused tokens) runs without memory errors or leaks.
# SPDX-License-Identifier: BSD-3-Clause
. "$(dirname "$0")/lib.sh"

need_root
[ -n "$VALGRIND" ] && [ -x "$VALGRIND" ] || VALGRIND=$(command -v valgrind) || skip_all "valgrind not installed"
make_scratch
ISS=https://idp.example.com
make_issuer "$SCRATCH" "$ISS" || { echo "Bail out! cannot make keys"; exit 1; }

vg() { # NAME TOKEN EXPECTED_EXIT
	printf '%s' "$2" | "$VALGRIND" -q --leak-check=full --errors-for-leak-kinds=definite,indirect \
		--error-exitcode=99 "$PAM_JWT" verify --config "$SCRATCH/pam_jwt.conf" >"$SCRATCH/vg.out" 2>&1
	rc=$?
	[ $rc -eq "$3" ]
	ok $? "$1 under valgrind: exit $rc, no memory errors or leaks"
	[ $rc -eq "$3" ] || sed 's/^/# /' "$SCRATCH/vg.out" | head -40
}

for alg in RS256 PS384 ES256 ES512 EdDSA; do
	vg "$alg accepted" "$(mint "$SCRATCH" "$alg" "$ISS" alice)" 0
done
good=$(mint "$SCRATCH" RS256 "$ISS" alice)
vg "bad signature" "${good%?????}AAAAA" 1
vg "expired" "$(mint "$SCRATCH" ES256 "$ISS" alice -3600)" 1
vg "unknown issuer" "$(mint "$SCRATCH" ES256 https://evil.example.com alice)" 1
vg "JWE shape" "eyJhbGciOiJSU0EifQ.a.b.c.d" 1
vg "not a JWT" "hunter2" 1
vg "bad JSON" "eyJhbGciOiJSUzI1NiIsImtpZCI6IlJTMjU2In0x.e30.AAAA" 1
# The module in a real PAM application: libpam loads and unloads it at pam_end, and nothing it kept (the
# parsed keys) may be lost with it.
PAMTESTER=${PAMTESTER:-$(command -v pamtester)}
if [ -n "$PAMTESTER" ] && unshare -m true 2>/dev/null; then
	mkdir "$SCRATCH/pam.d"
	printf 'auth required %s config=%s/pam_jwt.conf\n' "$PAM_MODULE" "$SCRATCH" >"$SCRATCH/pam.d/pam-jwt-vg"
	mint "$SCRATCH" ES256 "$ISS" alice >"$SCRATCH/token"
	unshare -m sh -c 'mount --make-rprivate / && mount --bind "$1/pam.d" /etc/pam.d &&
		exec "$2" -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 \
		"$3" pam-jwt-vg alice authenticate <"$1/token"' vg "$SCRATCH" "$VALGRIND" "$PAMTESTER" >"$SCRATCH/vg.out" 2>&1
	rc=$?
	[ $rc -eq 0 ]
	ok $? "pamtester login under valgrind: no memory errors, nothing lost when libpam unloads the module (exit $rc)"
	[ $rc -eq 0 ] || sed 's/^/# /' "$SCRATCH/vg.out" | head -40
else
	ok 0 "# SKIP pamtester or mount namespaces not available"
fi
done_testing
