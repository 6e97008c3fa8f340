#!/bin/sh
# test_host_audience.sh: audience with %h / %H: a token minted for one host is refused on another (UTS namespaces).
# SPDX-License-Identifier: BSD-3-Clause
. "$(dirname "$0")/lib.sh"

need_root
unshare -u -m true 2>/dev/null || skip_all "cannot create UTS and mount namespaces"
make_scratch
ISS=https://idp.example.com
make_issuer "$SCRATCH" "$ISS" || { echo "Bail out! cannot make keys"; exit 1; }
sed -i 's/^audience = pam$/audience = ssh:%H login:%h/' "$SCRATCH/pam_jwt.conf"
printf '127.0.1.1 hostc.example.org hostc\n' >"$SCRATCH/hosts"
printf 'hosts: files\n' >"$SCRATCH/nsswitch.conf"

# verify_on HOSTNAME [ARGS...]: pam-jwt verify ARGS of $SCRATCH/token, in a namespace whose host name is
# HOSTNAME and whose /etc/hosts (names hostc.example.org) and nsswitch.conf are ours; output in $SCRATCH/out.
verify_on() {
	h=$1
	shift
	unshare -u -m sh -c 'mount --make-rprivate / && mount --bind "$1/hosts" /etc/hosts &&
		mount --bind "$1/nsswitch.conf" /etc/nsswitch.conf && hostname "$2" && shift 2 && exec "$@"' - \
		"$SCRATCH" "$h" "$PAM_JWT" verify --config "$SCRATCH/pam_jwt.conf" "$@" <"$SCRATCH/token" \
		>"$SCRATCH/out" 2>&1
}
# on HOSTNAME AUD: verify_on HOSTNAME of a token for alice with that aud.
on() {
	"$JWT_MINT" sign ES256 "$SCRATCH/ES256.pem" ES256 \
		"{\"iss\":\"$ISS\",\"aud\":\"$2\",\"sub\":\"s\",\"exp\":@now+300,\"preferred_username\":\"alice\"}" \
		>"$SCRATCH/token"
	verify_on "$1"
}

on hosta.example.com ssh:hosta.example.com
ok $? "%H: a token for ssh:hosta.example.com is accepted on hosta.example.com"
on hostb.example.com ssh:hosta.example.com
[ $? -eq 1 ] && grep -q "aud does not name a configured audience (for this host)" "$SCRATCH/out"
ok $? "and refused on hostb.example.com, saying it is not for this host"
on hosta.example.com login:hosta
ok $? "%h: login:hosta is accepted on hosta.example.com (the short name)"
on hostb.example.com login:hosta
[ $? -eq 1 ]
ok $? "and refused on hostb"
on hostA.Example.COM ssh:hosta.example.com
ok $? "host names compare in lower case"
on hostc ssh:hostc.example.org
ok $? "%H of a short host name comes from the resolver (/etc/hosts: hostc.example.org)"
on hostc ssh:hostc
[ $? -eq 1 ]
ok $? "and the short name alone does not pass for %H"
on hosta.example.com 'ssh:%H'
[ $? -eq 1 ]
ok $? "a token whose aud is the pattern itself is refused"
# DPoP htu: this host's short name, its resolver name (%H of a short host name) or nothing else
JKT=$("$PAM_JWT" dpop keygen --key "$SCRATCH/client.key")
dpop_on() { # HOSTNAME HTU_HOST: pam-jwt verify --dpop in that namespace, for a bound token with aud ssh:HOSTNAME
	"$JWT_MINT" sign ES256 "$SCRATCH/ES256.pem" ES256 \
		"{\"iss\":\"$ISS\",\"aud\":\"login:$1\",\"sub\":\"s\",\"exp\":@now+300,\"preferred_username\":\"alice\",\"cnf\":{\"jkt\":\"$JKT\"}}" \
		>"$SCRATCH/token"
	printf '%s' "$(cat "$SCRATCH/token")" | "$PAM_JWT" dpop proof --key "$SCRATCH/client.key" --htu "pam://$2/sshd" \
		--nonce n >"$SCRATCH/proof"
	verify_on "$1" --dpop "$(cat "$SCRATCH/proof")" --nonce n
}
dpop_on hostc hostc.example.org
ok $? "DPoP: on hostc a proof for hostc.example.org (the resolver's name) is accepted"
dpop_on hostc hostc
ok $? "and one for hostc"
dpop_on hostc hostd.example.org
[ $? -eq 1 ] && grep -q 'htu names host "hostd.example.org", not this host' "$SCRATCH/out"
ok $? "and one for hostd.example.org is refused"
# The resolver is asked for %H of a short host name only, never for %h: libnss_pjtest.so.2 notes each host
# lookup in $PJ_TEST_NSS_DIR/hosts.log before files answers.
cp -L "$TOP_BUILDDIR/tests/.libs/libnss_pjtest.so.2" "$SCRATCH/" ||
	{ echo "Bail out! cannot copy libnss_pjtest.so.2 (make check builds it)"; exit 1; }
mkdir "$SCRATCH/nss"
LD_LIBRARY_PATH="$SCRATCH${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" PJ_TEST_NSS_DIR="$SCRATCH/nss"
export LD_LIBRARY_PATH PJ_TEST_NSS_DIR
printf 'hosts: pjtest files\n' >"$SCRATCH/nsswitch.conf"
sed -i 's/^audience = .*/audience = login:%h/' "$SCRATCH/pam_jwt.conf"
on hostc login:hostc
ok $? "%h alone: login:hostc is accepted on hostc"
[ ! -e "$SCRATCH/nss/hosts.log" ]
ok $? "and the resolver was not asked"
sed -i 's/^audience = .*/audience = ssh:%H/' "$SCRATCH/pam_jwt.conf"
on hostc ssh:hostc.example.org
ok $? "%H: ssh:hostc.example.org is accepted on hostc"
grep -qx hostc "$SCRATCH/nss/hosts.log"
ok $? "after the resolver was asked for hostc"
rm -f "$SCRATCH/nss/hosts.log"
sed -i 's/^audience = .*/audience = ssh:%H login:%h/' "$SCRATCH/pam_jwt.conf"
on hostc login:hostc
ok $? "audience = ssh:%H login:%h: login:hostc is accepted on hostc"
[ ! -e "$SCRATCH/nss/hosts.log" ]
ok $? "without asking the resolver (the %H audience comes last)"
on hostc ssh:hostc.example.org
ok $? "and ssh:hostc.example.org (%H) is accepted too"
sed -i 's/^audience = .*/audience = ssh:%x/' "$SCRATCH/pam_jwt.conf"
"$PAM_JWT" check-config --config "$SCRATCH/pam_jwt.conf" >"$SCRATCH/out" 2>&1
[ $? -eq 2 ] && grep -q "'%' starts %h (short host name), %H (fully qualified) or %% only" "$SCRATCH/out"
ok $? "an unknown escape in audience is a configuration error"
done_testing
