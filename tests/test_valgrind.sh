#!/bin/sh
# test_valgrind.sh: the verify path and the PAM entry points run without memory errors or leaks (memcheck).
# SPDX-License-Identifier: BSD-3-Clause
. "$(dirname "$0")/lib.sh"

need_root
san_skip_all "valgrind cannot run programs built with ASan (this test runs in the normal build)"
[ -n "$VALGRIND" ] && [ -x "$VALGRIND" ] || VALGRIND=$(command -v valgrind) || skip_all "valgrind not installed"
make_scratch
ISS=https://idp.example.com
make_issuer "$SCRATCH" "$ISS" || { echo "Bail out! cannot make keys"; exit 1; }

vg() { # NAME TOKEN EXPECTED_EXIT
	printf '%s' "$2" | memcheck "$PAM_JWT" verify --config "$SCRATCH/pam_jwt.conf" >"$SCRATCH/vg.out" 2>&1
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
# pam-jwt authorized-keys (sshd's AuthorizedKeysCommand) on an opkssh certificate: parser, PK Token, identity.
vg_keys() { # NAME CERT_FILE USER EXPECTED_EXIT
	set -- "$1" "$(cut -d' ' -f1 "$2")" "$(cut -d' ' -f2 "$2")" "$3" "$4"
	memcheck "$PAM_JWT" authorized-keys --config "$SCRATCH/pam_jwt.conf" --explain "$4" "$3" "$2" \
		>"$SCRATCH/vg.out" 2>&1
	rc=$?
	[ $rc -eq "$5" ]
	ok $? "authorized-keys, $1, under valgrind: exit $rc, no memory errors or leaks"
	[ $rc -eq "$5" ] || sed 's/^/# /' "$SCRATCH/vg.out" | head -40
}
if command -v ssh-keygen >/dev/null 2>&1; then
	echo "opkssh_client_id = opk" >>"$SCRATCH/pam_jwt.conf"
	"$JWT_MINT" keygen ES256 "$SCRATCH/user.pem" && chmod 600 "$SCRATCH/user.pem" &&
		ssh-keygen -y -f "$SCRATCH/user.pem" >"$SCRATCH/user.pub" &&
		pkt=$(python3 "$TOP_SRCDIR/tests/opk_client.py" --idp "$ISS" --cafile /dev/null --client-id opk \
			--login alice --key "$SCRATCH/user.pem" --mint "$JWT_MINT" --op-key "$SCRATCH/ES256.pem") &&
		ssh-keygen -q -s "$SCRATCH/user.pem" -I vg -n opkssh-wildcard -O "extension:openpubkey-pkt=$pkt" \
			"$SCRATCH/user.pub" || { echo "Bail out! cannot make an opkssh certificate"; exit 1; }
	vg_keys "accepted" "$SCRATCH/user-cert.pub" alice 0
	vg_keys "refused (another user)" "$SCRATCH/user-cert.pub" bob 1
else
	ok 0 "# SKIP no ssh-keygen"
	ok 0 "# SKIP no ssh-keygen"
fi
# The module in a real PAM application: libpam loads and unloads it at pam_end, and nothing it kept (the
# parsed keys) may be lost with it.
PAMTESTER=${PAMTESTER:-$(command -v pamtester)}
if [ -n "$PAMTESTER" ] && unshare -m true 2>/dev/null; then
	mkdir "$SCRATCH/pam.d"
	for t in auth account session; do
		printf '%s required %s config=%s/pam_jwt.conf\n' "$t" "$PAM_MODULE" "$SCRATCH"
	done >"$SCRATCH/pam.d/pam-jwt-vg"
	# pamtester_vg NAME INPUT ACTIONS...: pamtester for alice under memcheck, INPUT on its standard input
	pamtester_vg() {
		name=$1
		printf '%s\n' "$2" >"$SCRATCH/input"
		shift 2
		unshare -m sh -c 'mount --make-rprivate / && mount --bind "$1/pam.d" /etc/pam.d && shift &&
			exec "$@" <"$PJ_INPUT"' vg "$SCRATCH" "$VALGRIND" -q --leak-check=full \
			--errors-for-leak-kinds=definite --error-exitcode=99 "$PAMTESTER" pam-jwt-vg alice "$@" \
			>"$SCRATCH/vg.out" 2>&1
		rc=$?
		[ $rc -eq "${PJ_WANT:-0}" ]
		ok $? "$name under valgrind: no memory errors, nothing lost when libpam unloads the module (exit $rc)"
		[ $rc -eq "${PJ_WANT:-0}" ] || sed 's/^/# /' "$SCRATCH/vg.out" | head -40
	}
	export PJ_INPUT="$SCRATCH/input"
	token=$(mint "$SCRATCH" ES256 "$ISS" alice)
	pamtester_vg "pamtester login" "$token" authenticate
	pamtester_vg "authenticate, acct_mgmt, open_session and close_session" "$token" \
		authenticate acct_mgmt open_session close_session
	# the continuation protocol: the token in two answers, the first ending in '\'
	cut=$((${#token} / 2))
	part1=$(printf '%s' "$token" | cut -c1-$cut) part2=$(printf '%s' "$token" | cut -c$((cut + 1))-)
	pamtester_vg "a token in two parts (continuation)" "$part1\\
$part2" authenticate
	grep -q 'continued, part 2' "$SCRATCH/vg.out"
	ok $? "and the module asked for part 2"
	# a refused token: pamtester exits 1, valgrind would exit 99
	PJ_WANT=1 pamtester_vg "a refused token" "$(mint "$SCRATCH" ES256 "$ISS" alice -3600)" authenticate
else
	ok 0 "# SKIP pamtester or mount namespaces not available"
fi
done_testing
