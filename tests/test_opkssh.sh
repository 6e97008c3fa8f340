#!/bin/sh
# test_opkssh.sh: logins with opkssh-format certificates (PK Token in openpubkey-pkt) through the real sshd.
# SPDX-License-Identifier: BSD-3-Clause
# sshd with conf/sshd_config.d/pam_jwt_opkssh.conf (pam-jwt authorized-keys as AuthorizedKeysCommand) and the
# stock ssh client; the PK Token comes from the test OpenID Provider's authorization-code flow with the
# commitment as nonce, built as opkssh's client builds it (opk_client.py), in a private mount namespace.
. "${TOP_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"
. "$TOP_SRCDIR/tests/svc_lib.sh"

PYTHON=${PYTHON:-/usr/bin/python3}
svc_need_sshd
command -v openssl >/dev/null 2>&1 || skip_all "no openssl CLI"
id nobody >/dev/null 2>&1 || skip_all "no user nobody"
svc_enter "$0" "$@"
svc_setup
svc_syslog
svc_install_pamd sshd

# ---- the IdP over HTTPS on 127.0.0.1 ----
start_idp '{"client_id": "opkssh-client"}'

# The IdP's keys come through pam_jwt's key store (here its jwks_file); a second issuer whose opkssh
# client id the first one's tokens must not pass for.
cat >>"$SCRATCH/pam_jwt.conf" <<EOF
[issuer idp]
issuer = $DISS
audience = pam-cli
algorithms = ES256
jwks_file = $IDP/jwks.json
groups_claim = groups
groups_allow = devs admins ops
opkssh_client_id = opkssh-client
[issuer other]
issuer = https://other.example.com
audience = other
algorithms = ES256
jwks_file = $IDP/jwks.json
opkssh_client_id = other-client
EOF
"$PAM_JWT" check-config --config "$SCRATCH/pam_jwt.conf" >/dev/null ||
	{ echo "Bail out! check-config: $("$PAM_JWT" check-config --config "$SCRATCH/pam_jwt.conf" 2>&1)"; exit 1; }

# ---- sshd: publickey only, the drop-in with pam-jwt where sshd accepts an AuthorizedKeysCommand ----
# (root-owned, in directories no one else can write: the namespace's /run)
mkdir -m 755 /run/pj-bin && cp "$PAM_JWT" /run/pj-bin/pam-jwt && chmod 755 /run/pj-bin/pam-jwt
sed "s|/usr/bin/pam-jwt authorized-keys|/run/pj-bin/pam-jwt authorized-keys --config $SCRATCH/pam_jwt.conf|" \
	"$CONF_DIR/sshd_config.d/pam_jwt_opkssh.conf" >"$SCRATCH/opkssh.conf"
svc_sshd "LoginGraceTime 60
AuthenticationMethods publickey
KbdInteractiveAuthentication no
PasswordAuthentication no
AuthorizedKeysFile none
Include $SCRATCH/opkssh.conf"

# ---- the client side, as `opkssh login` leaves it: a key, and a certificate self-signed by it ----
"$JWT_MINT" keygen ES256 "$SCRATCH/user.pem" && "$JWT_MINT" keygen ES256 "$SCRATCH/other.pem" &&
	chmod 600 "$SCRATCH/user.pem" "$SCRATCH/other.pem" &&
	ssh-keygen -y -f "$SCRATCH/user.pem" >"$SCRATCH/user.pub" &&
	ssh-keygen -y -f "$SCRATCH/other.pem" >"$SCRATCH/other.pub" ||
	{ echo "Bail out! cannot make the user's keys"; exit 1; }

# pkt LOGIN [opk_client.py options]: a PK Token for LOGIN (its ID token's sub is sub-LOGIN).
pkt() {
	login=$1
	shift
	"$PYTHON" "$TOP_SRCDIR/tests/opk_client.py" --idp "$DISS" --cafile "$SCRATCH/ca.pem" \
		--client-id opkssh-client --login "$login" --key "$SCRATCH/user.pem" --mint "$JWT_MINT" "$@"
}
# cert NAME PKT [KEY [ssh-keygen options]]: NAME-cert.pub for KEY (user), signed by KEY itself, with
# openpubkey-pkt=PKT (none when PKT is "-") and the principal opkssh-wildcard, as opkssh makes it.
cert() {
	name=$1 p=$2 key=${3:-user}
	shift 2
	[ $# -gt 0 ] && shift
	cp "$SCRATCH/$key.pub" "$SCRATCH/$name.pub"
	if [ "$p" = - ]; then
		ssh-keygen -q -s "$SCRATCH/$key.pem" -I "$name" -n opkssh-wildcard "$@" "$SCRATCH/$name.pub"
	else
		ssh-keygen -q -s "$SCRATCH/$key.pem" -I "$name" -n opkssh-wildcard -O "extension:openpubkey-pkt=$p" \
			"$@" "$SCRATCH/$name.pub"
	fi
}
# login NAME USER [KEY [COMMAND]]: the stock ssh client with KEY's private key and NAME-cert.pub beside it,
# as opkssh leaves ~/.ssh/id_ecdsa and id_ecdsa-cert.pub.
login() {
	name=$1 user=$2 key=${3:-user}
	cp "$SCRATCH/$key.pem" "$SCRATCH/id_$name" && chmod 600 "$SCRATCH/id_$name" &&
		cp "$SCRATCH/$name-cert.pub" "$SCRATCH/id_$name-cert.pub" || return 1
	timeout 60 setsid -w ssh -F /dev/null -p "$PORT" -i "$SCRATCH/id_$name" -o IdentitiesOnly=yes -o BatchMode=yes \
		-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
		-o PreferredAuthentications=publickey -o ConnectTimeout=10 "$user@127.0.0.1" "${4:-true}" \
		</dev/null >"$SCRATCH/out" 2>"$SCRATCH/err"
}
SESSION='echo "uid=$(id -u) gid=$(id -g) groups=$(id -Gn | tr " " "\n" | sort | tr "\n" " ")"; echo "home=$HOME"; cut -d" " -f1,2 "$SSH_USER_AUTH"; env | grep "^PAM_JWT_" | sort'

# ---- a never-seen user logs in with no token pasted ----
sshd_getent passwd tess >/dev/null
is "tess is not a local user; nss_preauth resolves her for sshd before any login" "$?" 0
PRE_UID=$(sshd_getent passwd tess | cut -d: -f3)
P=$(pkt tess) || { echo "Bail out! opk_client.py failed: see $IDP/errors"; exit 1; }
cert good "$P" || { echo "Bail out! ssh-keygen -s failed"; exit 1; }
ssh-keygen -L -f "$SCRATCH/good-cert.pub" | grep -q 'openpubkey-pkt'
ok $? "ssh-keygen made a certificate with the openpubkey-pkt extension"

# what sshd runs, by hand: one cert-authority line naming the certificate's own key
set -- $(cat "$SCRATCH/good-cert.pub")
"$PAM_JWT" authorized-keys --config "$SCRATCH/pam_jwt.conf" --explain tess "$2" "$1" >"$SCRATCH/line" 2>"$SCRATCH/why"
is "pam-jwt authorized-keys prints one cert-authority line with the user key" \
	"$?:$(cat "$SCRATCH/line")" "0:cert-authority,principals=\"opkssh-wildcard\" $(cut -d' ' -f1,2 "$SCRATCH/user.pub")"
grep -q '^username:  tess$' "$SCRATCH/why" && grep -q '^groups:    devs$' "$SCRATCH/why"
ok $? "--explain says who it is (username tess, groups devs)"
"$PAM_JWT" authorized-keys --config "$SCRATCH/pam_jwt.conf" tess "$(cut -d' ' -f2 "$SCRATCH/user.pub")" \
	ecdsa-sha2-nistp256 >"$SCRATCH/line"
is "a plain key is not ours: nothing printed, exit 0" "$?:$(cat "$SCRATCH/line")" "0:"
"$PAM_JWT" authorized-keys --config "$SCRATCH/pam_jwt.conf" adam "$2" "$1" >"$SCRATCH/line" 2>/dev/null
is "tess's certificate for user adam: refused, nothing printed, status 0 (sshd would log the arguments)" \
	"$?:$(cat "$SCRATCH/line")" "0:"
"$PAM_JWT" authorized-keys --config "$SCRATCH/nonexistent.conf" tess "$2" "$1" >"$SCRATCH/line" 2>/dev/null
is "a configuration that cannot be read: nothing printed, status 0 (logged)" "$?:$(cat "$SCRATCH/line")" "0:"
"$PAM_JWT" authorized-keys --config "$SCRATCH/nonexistent.conf" --explain tess "$2" "$1" >/dev/null 2>&1
is "and with --explain status 2" "$?" 2
"$PAM_JWT" authorized-keys --config "$SCRATCH/pam_jwt.conf" tess "$2" "$1" extra >"$SCRATCH/line" 2>/dev/null
is "a command line with a word too many (a wrong AuthorizedKeysCommand): nothing printed, status 0" \
	"$?:$(cat "$SCRATCH/line")" "0:"
"$PAM_JWT" authorized-keys --config "$SCRATCH/pam_jwt.conf" --bogus tess "$2" "$1" >"$SCRATCH/line" 2>/dev/null
is "an unknown option: nothing printed, status 0" "$?:$(cat "$SCRATCH/line")" "0:"
"$PAM_JWT" authorized-keys --config "$SCRATCH/pam_jwt.conf" --explain tess "$2" >/dev/null 2>&1
is "and with --explain, a usage error is status 2" "$?" 2
"$PAM_JWT" authorized-keys --config "$SCRATCH/pam_jwt.conf" --explain adam "$2" "$1" >"$SCRATCH/line" 2>"$SCRATCH/why"
is "with --explain: status 1 and why" "$?:$(cat "$SCRATCH/line"):$(grep -c 'token is for user tess, not adam' "$SCRATCH/why")" \
	"1::1"
# A local account (nobody: uid 65534, not a system uid) is never pam_jwt's, as for a token login: the
# session step would refuse it too late (sshd 9.2 still runs the command of a session that failed).
cert local "$(pkt nobody)" || { echo "Bail out! opk_client.py failed: see $IDP/errors"; exit 1; }
set -- $(cat "$SCRATCH/local-cert.pub")
"$PAM_JWT" authorized-keys --config "$SCRATCH/pam_jwt.conf" --explain nobody "$2" "$1" >"$SCRATCH/line" 2>"$SCRATCH/why"
is "a PK Token for the local account nobody: status 1, nothing printed, and why" \
	"$?:$(cat "$SCRATCH/line"):$(grep -c 'nobody is a local account or group' "$SCRATCH/why")" "1::1"
"$PAM_JWT" authorized-keys --config "$SCRATCH/pam_jwt.conf" nobody "$2" "$1" >"$SCRATCH/line" 2>/dev/null
is "and without --explain: nothing printed, status 0" "$?:$(cat "$SCRATCH/line")" "0:"
# principals: the user's own name is the one printed; none at all gives no principals="..."; a certificate
# for other principals only, or signed by another key than its own, is refused (nothing printed).
# keys_by NAME SIGNER [ssh-keygen options]: NAME-cert.pub for user.pub with tess's PK Token, signed by SIGNER.
keys_by() {
	name=$1 signer=$2
	shift 2
	cp "$SCRATCH/user.pub" "$SCRATCH/$name.pub" &&
		ssh-keygen -q -s "$SCRATCH/$signer.pem" -I "$name" -O "extension:openpubkey-pkt=$P" "$@" "$SCRATCH/$name.pub"
}
# authkeys NAME: what pam-jwt authorized-keys --explain prints for tess and NAME-cert.pub ("STATUS:LINE").
authkeys() {
	set -- $(cat "$SCRATCH/$1-cert.pub")
	"$PAM_JWT" authorized-keys --config "$SCRATCH/pam_jwt.conf" --explain tess "$2" "$1" >"$SCRATCH/line" 2>"$SCRATCH/why"
	echo "$?:$(cut -d' ' -f1 "$SCRATCH/line")"
}
keys_by named user -n bob,tess,opkssh-wildcard && keys_by none user && keys_by bob user -n bob &&
	keys_by byca other -n opkssh-wildcard || { echo "Bail out! ssh-keygen -s failed"; exit 1; }
is "a certificate naming tess (and others): principals=\"tess\"" "$(authkeys named)" '0:cert-authority,principals="tess"'
is "a certificate with no principals: a cert-authority line without principals=" "$(authkeys none)" \
	"0:cert-authority"
is "a certificate for bob only: refused, and why" "$(authkeys bob):$(grep -c 'principals name neither tess nor opkssh-wildcard' "$SCRATCH/why")" \
	"1::1"
is "a certificate signed by another key (a CA): refused, and why" \
	"$(authkeys byca):$(grep -c 'certificate is signed by another key' "$SCRATCH/why")" "1::1"
cp "$SCRATCH/user.pub" "$SCRATCH/flag.pub" &&
	ssh-keygen -q -s "$SCRATCH/user.pem" -I flag -n opkssh-wildcard -O extension:openpubkey-pkt "$SCRATCH/flag.pub" ||
	{ echo "Bail out! ssh-keygen -s failed"; exit 1; }
is "a certificate whose openpubkey-pkt is empty (a flag): refused, and why" \
	"$(authkeys flag):$(grep -c 'openpubkey-pkt is empty or holds a NUL byte' "$SCRATCH/why")" "1::1"
set -- $(cat "$SCRATCH/good-cert.pub")

log_mark
login good tess user "$SESSION"
is "tess logs in over ssh with the opkssh certificate (no token pasted)" "$?" 0
[ -s "$SCRATCH/err" ] && diag "ssh: $(head -12 "$SCRATCH/err")"
svc_lands tess "$PRE_UID" devs
UID_T=$(getent passwd tess | cut -d: -f3)
is "in her new home" "$(sed -n 2p "$SCRATCH/out")" "home=/home/tess"
is "her home was made for her (pam_mkhomedir after pam_jwt's session step)" "$(stat -c %u /home/tess)" "$UID_T"
is "the session's SSH_USER_AUTH names the certificate (ExposeAuthInfo yes)" "$(sed -n 3p "$SCRATCH/out")" \
	"publickey ecdsa-sha2-nistp256-cert-v01@openssh.com"
svc_session_env tess "$DISS" devs \
	"the session has PAM_JWT_ISSUER, _SUBJECT, _USER, _GROUPS and _EXP from the certificate's PK Token"
"$PAM_JWT" user list --config "$SCRATCH/pam_jwt.conf" | grep -q tess
ok $? "the session step recorded her in the user store"
logged "opkssh certificate for tess at the session step: accepted, login recorded"
ok $? "syslog: the session step verified the certificate again and recorded the login"
logged "accepted token for tess: issuer=idp"
ok $? "syslog: accepted for tess by issuer idp"

# ---- refusals: each one with its own reason in the log ----
# refused NAME USER REASON DESCRIPTION [KEY]: the login fails and syslog says REASON.
refused() {
	log_mark
	login "$1" "$2" "${5:-user}"
	rc=$?
	[ "$rc" -ne 0 ] && logged "$3"
	ok $? "$4 (logged: $3)"
	[ "$rc" -ne 0 ] || diag "the login succeeded"
}
cert nonce "$(pkt tess --nonce "$(printf x%.0s 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39 40 41 42 43)")"
refused nonce tess "nonce is not the commitment to the CIC" "a nonce that does not commit to the CIC"
cert cic "$(pkt tess --cic-key "$SCRATCH/other.pem")"
refused cic tess "CIC signature: " "a CIC signed by another key than upk"
cert otherkey "$P" other
refused otherkey tess "the certificate's key is not the PK Token's upk" "a certificate for another key than upk" other
cert badop "$(pkt tess --action badkey)"
refused badop tess "ID token: signature" "an ID token signed by a key not in the IdP's JWKS"
echo '{"client_id": "opkssh-client", "id_token_claims": {"aud": "someone-else"}}' >"$IDP/config.json"
cert aud "$(pkt tess)"
refused aud tess "aud is not opkssh_client_id of issuer idp" "a PK Token for another client (aud)"
echo '{"client_id": "opkssh-client", "id_token_claims": {"aud": "other-client"}}' >"$IDP/config.json"
cert audother "$(pkt tess)"
refused audother tess "aud is the opkssh_client_id of issuer other, not of issuer idp" \
	"a PK Token made for another issuer's opkssh client id"
echo "{\"client_id\": \"opkssh-client\", \"id_token_claims\": {\"iat\": $(($(date +%s) - 90000))}}" >"$IDP/config.json"
cert old "$(pkt tess)"
refused old tess "expired by opkssh_expiration" "a PK Token issued 25 hours ago (opkssh_expiration 24h)"
echo '{"client_id": "opkssh-client"}' >"$IDP/config.json"
cert twice "$(pkt tess --op-twice)"
refused twice tess "2 OP signatures; exactly one is allowed" "a second OP signature"
# The stock client does not offer a host certificate as a user's: what sshd would run says why.
cert host "$P" user -h
login host tess
[ $? -ne 0 ]
ok $? "the stock client with a host certificate does not get in"
log_mark
set -- $(cat "$SCRATCH/host-cert.pub")
"$PAM_JWT" authorized-keys --config "$SCRATCH/pam_jwt.conf" tess "$2" "$1" >"$SCRATCH/line"
[ ! -s "$SCRATCH/line" ] && logged "a host certificate (type 2), not a user certificate"
ok $? "a host certificate given to pam-jwt authorized-keys is refused (logged: a host certificate)"
cert noext -
refused noext tess "certificate has no openpubkey-pkt extension" "a certificate without openpubkey-pkt"
echo '{"client_id": "opkssh-client", "id_token_claims": {"preferred_username": "tess"}}' >"$IDP/config.json"
cert mallory "$(pkt mallory)"
refused mallory tess "user tess is bound to another identity" "tess's name from another (iss, sub)"
echo '{"client_id": "opkssh-client"}' >"$IDP/config.json"
cert fresh "$(pkt tess --fresh)"
login fresh tess
is "a PK Token with a refreshed ID token appended (\".\") still logs in" "$?" 0

# An RSA user key (RS256 CIC, ssh-rsa-cert-v01 signed with rsa-sha2-512), as opkssh --key-type=rsa makes.
"$JWT_MINT" keygen RS256 "$SCRATCH/rsa.pem" && chmod 600 "$SCRATCH/rsa.pem" &&
	ssh-keygen -y -f "$SCRATCH/rsa.pem" >"$SCRATCH/rsa.pub" ||
	{ echo "Bail out! cannot make an RSA key"; exit 1; }
cert rsa "$(pkt tess --key "$SCRATCH/rsa.pem" --alg RS256)" rsa
login rsa tess rsa 'id -un'
is "tess logs in with an RSA opkssh certificate" "$?:$(cat "$SCRATCH/out")" "0:tess"

# An Ed25519 user key (EdDSA CIC, ssh-ed25519-cert-v01): OpenSSH reads it in its own format only.
"$JWT_MINT" keygen EdDSA "$SCRATCH/edjwt.pem" && "$PYTHON" -c '
import sys
from cryptography.hazmat.primitives import serialization as s
k = s.load_pem_private_key(open(sys.argv[1], "rb").read(), None)
open(sys.argv[2], "wb").write(k.private_bytes(s.Encoding.PEM, s.PrivateFormat.OpenSSH, s.NoEncryption()))
' "$SCRATCH/edjwt.pem" "$SCRATCH/ed.pem" && chmod 600 "$SCRATCH/ed.pem" &&
	ssh-keygen -y -f "$SCRATCH/ed.pem" >"$SCRATCH/ed.pub" ||
	{ echo "Bail out! cannot make an Ed25519 key (python3-cryptography)"; exit 1; }
cert ed "$(pkt tess --key "$SCRATCH/edjwt.pem" --alg EdDSA)" ed
login ed tess ed 'id -un'
is "tess logs in with an Ed25519 opkssh certificate" "$?:$(cat "$SCRATCH/out")" "0:tess"

# Keys by OIDC discovery, as in production: root's `pam-jwt jwks refresh` (pam-jwt-refresh.timer) writes
# the cache; the command, run as nobody, reads it and never writes; with the IdP gone it still decides.
sed "s|^jwks_file = $IDP/jwks.json\$|tls_ca_file = $SCRATCH/ca.pem|" "$SCRATCH/pam_jwt.conf" >"$SCRATCH/discovery.conf"
chmod 644 "$SCRATCH/discovery.conf"
"$PAM_JWT" jwks refresh --config "$SCRATCH/discovery.conf" --issuer idp >/dev/null 2>&1
ok $? "root fetches the IdP's keys by discovery into the cache (pam-jwt jwks refresh)"
kill "$IDP_PID" 2>/dev/null
wait "$IDP_PID" 2>/dev/null
set -- $(cat "$SCRATCH/good-cert.pub")
setpriv --reuid=nobody --regid=nogroup --clear-groups /run/pj-bin/pam-jwt authorized-keys \
	--config "$SCRATCH/discovery.conf" tess "$2" "$1" >"$SCRATCH/line" 2>&1
is "with the IdP down, nobody's pam-jwt authorized-keys accepts from root's key cache" \
	"$?:$(cut -d' ' -f1 "$SCRATCH/line")" "0:cert-authority,principals=\"opkssh-wildcard\""

log_sync
! grep -qF "$(echo "$P" | cut -d: -f1 | cut -c1-60)" "$SCRATCH/syslog" &&
	! grep -qF "$(cut -d' ' -f2 "$SCRATCH/good-cert.pub" | cut -c400-460)" "$SCRATCH/syslog" &&
	! grep -q 'AuthorizedKeysCommand.* failed' "$SCRATCH/syslog"
ok $? "nothing in syslog (pam-jwt's or sshd's) carries a PK Token or a certificate"

kill "$SSHD_PID" 2>/dev/null
wait "$SSHD_PID" 2>/dev/null
done_testing
