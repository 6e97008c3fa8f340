#!/bin/sh
# test_dpop_cli.sh: pam-jwt dpop keygen|jkt|proof (the client side) and pam-jwt verify --dpop (by hand).
# SPDX-License-Identifier: BSD-3-Clause
. "$(dirname "$0")/lib.sh"

need_root
make_scratch
ISS=https://idp.example.com
make_issuer "$SCRATCH" "$ISS" || { echo "Bail out! cannot make keys"; exit 1; }
sed -i 's/^\[global\]$/[global]\ndpop = yes/' "$SCRATCH/pam_jwt.conf"
printf '[service sshd]\n[service sudo]\nrequire_dpop = yes\n' >>"$SCRATCH/pam_jwt.conf"
HOST=$(hostname)

JKT=$("$PAM_JWT" dpop keygen --key "$SCRATCH/client.key")
[ $? -eq 0 ] && [ ${#JKT} -eq 43 ] && [ "$(stat -c %a "$SCRATCH/client.key")" = 600 ]
ok $? "dpop keygen: an ES256 key pair, private key 0600, its 43-character jkt printed"
[ "$("$PAM_JWT" dpop jkt --key "$SCRATCH/client.key")" = "$JKT" ]
ok $? "dpop jkt prints the same thumbprint"
grep -q 'BEGIN PRIVATE KEY' "$SCRATCH/client.key"
ok $? "the key file is PKCS#8 PEM"

token() { # JKT (or -): a token for alice, bound to that key
	cnf=""
	[ "$1" = - ] || cnf=",\"cnf\":{\"jkt\":\"$1\"}"
	"$JWT_MINT" sign ES256 "$SCRATCH/ES256.pem" ES256 \
		"{\"iss\":\"$ISS\",\"aud\":\"pam\",\"sub\":\"s\",\"exp\":@now+300,\"preferred_username\":\"alice\"$cnf}"
}
proof() { # KEY HTU NONCE TOKEN
	printf '%s\n' "$4" | "$PAM_JWT" dpop proof --key "$1" --htu "$2" --nonce "$3"
}
verify() { # TOKEN ARGS...: pam-jwt verify, output in $SCRATCH/out
	t=$1
	shift
	printf '%s\n' "$t" | "$PAM_JWT" verify --config "$SCRATCH/pam_jwt.conf" "$@" >"$SCRATCH/out" 2>&1
}

T=$(token "$JKT")
P=$(proof "$SCRATCH/client.key" "pam://$HOST/sshd" n-123 "$T")
verify "$T" --service sshd --dpop "$P" --nonce n-123
ok $? "verify --dpop: a bound token and its proof are accepted"
verify "$T" --service sshd --dpop "$P" --nonce n-456
[ $? -eq 1 ] && grep -q "nonce is not the one issued for this login" "$SCRATCH/out"
ok $? "with another --nonce: refused"
verify "$T" --service sshd --dpop "$P"
[ $? -eq 0 ] && grep -q "the proof's nonce is not checked" "$SCRATCH/out"
ok $? "without --nonce: accepted, saying the nonce was not checked"
verify "$T" --service sshd
[ $? -eq 1 ] && grep -q "DPoP-bound (cnf.jkt) but no DPoP proof came with it" "$SCRATCH/out"
ok $? "the bound token without a proof: refused"
verify "$T~$P" --service sshd --nonce n-123
ok $? "TOKEN~PROOF on standard input, as pam-jwt-askpass answers"
verify "$T" --service sudo --dpop "$P" --nonce n-123
[ $? -eq 1 ] && grep -q 'htu names service "sshd", not sudo' "$SCRATCH/out"
ok $? "a proof for sshd does not pass for sudo"
verify "$(token -)" --service sudo
[ $? -eq 1 ] && grep -q "require_dpop (service)" "$SCRATCH/out"
ok $? "[service sudo] require_dpop refuses a plain token"
verify "$(token -)" --service sshd
ok $? "[service sshd] takes it"
"$PAM_JWT" dpop keygen --key "$SCRATCH/ed.key" --alg EdDSA >"$SCRATCH/ed.jkt"
TE=$(token "$(cat "$SCRATCH/ed.jkt")")
verify "$TE" --service sshd --dpop "$(proof "$SCRATCH/ed.key" "pam://$HOST/sshd" x "$TE")" --nonce x
ok $? "an EdDSA key pair works the same way"
verify "$TE" --service sshd --dpop "$(proof "$SCRATCH/client.key" "pam://$HOST/sshd" x "$TE")" --nonce x
[ $? -eq 1 ] && grep -q "its key is not the one the token is bound to" "$SCRATCH/out"
ok $? "a proof from the other key is refused"
chmod 644 "$SCRATCH/client.key"
proof "$SCRATCH/client.key" "pam://$HOST/sshd" x "$T" >/dev/null 2>"$SCRATCH/err"
[ $? -ne 0 ] && grep -q "mode 0600" "$SCRATCH/err"
ok $? "dpop proof refuses a key file others may read"
"$PAM_JWT" dpop keygen --key "$SCRATCH/rsa.key" --alg RS256 >/dev/null 2>&1
[ $? -eq 2 ]
ok $? "dpop keygen makes ES256 or EdDSA keys only"
grep -qF "$(printf '%s' "$P" | cut -d. -f3)" "$SCRATCH/out"
[ $? -ne 0 ]
ok $? "the proof's signature is not printed by verify"
sed -i 's/^\[issuer test\]$/[issuer test]\nreplay_protection = jti\nmax_token_age = 10m\nrequire_dpop = yes/' "$SCRATCH/pam_jwt.conf"
"$PAM_JWT" check-config --config "$SCRATCH/pam_jwt.conf" >"$SCRATCH/out" 2>&1
grep -q "replay_protection: jti" "$SCRATCH/out" && grep -q "max_token_age: 600s" "$SCRATCH/out" &&
	[ "$(grep -c "require_dpop: yes" "$SCRATCH/out")" -eq 2 ] && grep -q "^DPoP: the prompt offers a nonce" "$SCRATCH/out"
ok $? "check-config shows each issuer's and service's defences against stolen tokens"
done_testing
