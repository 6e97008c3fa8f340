#!/bin/sh
# test_ssh.sh: logins through the real OpenSSH server and client.
# SPDX-License-Identifier: BSD-3-Clause
# sshd on 127.0.0.1 with conf/pam.d/sshd and conf/sshd_config.d/pam_jwt.conf, the ssh client with
# pam-jwt-askpass as SSH_ASKPASS, in a private mount namespace (see svc_lib.sh).
. "${TOP_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"
. "$TOP_SRCDIR/tests/svc_lib.sh"

svc_need_sshd
svc_enter "$0" "$@"
svc_setup
svc_syslog
svc_install_pamd sshd

# ---- sshd on a free port, stopped at exit ----
svc_sshd "PubkeyAuthentication no
LoginGraceTime 60
MaxAuthTries 3
Include $CONF_DIR/sshd_config.d/pam_jwt.conf"

# sshc METHOD TOKEN_FILE USER [COMMAND]: the OpenSSH client with pam-jwt-askpass forced as its askpass;
# stdout in $SCRATCH/out, stderr in $SCRATCH/err, the askpass prompts in $SCRATCH/prompts (each name
# followed by $SSHC_TAG when set, for a client that runs in the background), and $SSHC_ASKPASS instead of
# the logging askpass when set.
cat >"$SCRATCH/askpass-log" <<EOF
#!/bin/sh
printf '%s\n' "\$1" >>"$SCRATCH/prompts"
exec "$ASKPASS" "\$1"
EOF
chmod 755 "$SCRATCH/askpass-log"
mkdir -m 0700 "$SCRATCH/run"
sshc() {
	method=$1 tokfile=$2 user=$3
	shift 3
	: >"$SCRATCH/prompts${SSHC_TAG:-}"
	SSH_ASKPASS="${SSHC_ASKPASS:-$SCRATCH/askpass-log}" SSH_ASKPASS_REQUIRE=force DISPLAY=:0 PAM_JWT_TOKEN_FILE=$tokfile \
		PAM_JWT_ANSWER_PASSWORD=yes PAM_JWT_HOSTS="${SSHC_HOSTS-127.0.0.1}" PAM_JWT_PROGRAM="$PAM_JWT" \
		XDG_RUNTIME_DIR="$SCRATCH/run" timeout 60 setsid -w ssh -F /dev/null -p "$PORT" -o BatchMode=no \
		-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
		-o PreferredAuthentications="$method" -o PubkeyAuthentication=no -o NumberOfPasswordPrompts=1 \
		-o ConnectTimeout=10 "$user@${SSHC_HOST:-127.0.0.1}" "${@:-true}" </dev/null >"$SCRATCH/out${SSHC_TAG:-}" \
		2>"$SCRATCH/err${SSHC_TAG:-}"
}
prompt_count() { grep -c 'JWT' "$SCRATCH/prompts"; }
SESSION='echo "uid=$(id -u) gid=$(id -g) groups=$(id -Gn | tr " " "\n" | sort | tr "\n" " ")"; echo "home=$HOME pwd=$(pwd)"; env | grep "^PAM_JWT_" | sort'

# ---- a user the host has never seen, first login through nss_preauth ----
# Pre-auth entries go to sshd only (nss_preauth_programs, by /proc/self/comm): sshd_getent asks as sshd.
getent passwd tess >/dev/null
is "to other programs tess does not exist before her first login (useradd would take the name for used)" \
	"$?" 2
sshd_getent passwd tess >/dev/null
is "tess is not a local user; nss_preauth resolves her for sshd before any login" "$?" 0
PRE_UID=$(sshd_getent passwd tess | cut -d: -f3)
tok=$(svc_token_file tess "$(svc_token tess '["devs"]')")
sshc keyboard-interactive "$tok" tess "$SESSION"
is "tess logs in with keyboard-interactive and a token (first login)" "$?" 0
[ -s "$SCRATCH/err" ] && diag "ssh: $(head -5 "$SCRATCH/err")"
svc_lands tess "$PRE_UID" devs
UID_T=$(getent passwd tess | cut -d: -f3)
is "in her new home (pam_mkhomedir)" "$(sed -n 2p "$SCRATCH/out")" "home=/home/tess pwd=/home/tess"
is "her home belongs to her" "$(stat -c %u /home/tess)" "$UID_T"
svc_session_env tess "$ISS" devs \
	"the session has PAM_JWT_ISSUER, _SUBJECT, _USER, _GROUPS and _EXP (carried out of sshd's PAM child)"
is "one prompt, \"(tess@127.0.0.1) JWT: \"" "$(cat "$SCRATCH/prompts")" "(tess@127.0.0.1) JWT: "

logged "accepted token for tess: issuer=test"
ok $? "sshd's syslog: accepted token for tess"

# ---- refusals: the log says why, the client sees the same for every cause ----
log_mark
sshc keyboard-interactive "$(svc_token_file bad "$(svc_token tess '["devs"]' 300 0 "$SCRATCH/other.pem")")" tess
rc_bad=$?
err_bad=$(cat "$SCRATCH/err")
[ "$rc_bad" -ne 0 ] && logged "refused token for tess: signature"
ok $? "a token signed by another key is refused (logged: signature)"
log_mark
sshc keyboard-interactive "$(svc_token_file adam "$(svc_token adam '["devs","admins"]')")" tess
rc_other=$?
err_other=$(cat "$SCRATCH/err")
[ "$rc_other" -ne 0 ] && logged "refused token for tess" && logged "sub=sub-adam"
ok $? "another user's token (adam's for tess) is refused (logged with adam's subject)"
log_mark
sshc keyboard-interactive "$(svc_token_file old "$(svc_token tess '["devs"]' -3600)")" tess
rc_old=$?
err_old=$(cat "$SCRATCH/err")
[ "$rc_old" -ne 0 ] && logged "expired"
ok $? "an expired token is refused (logged: expired)"
log_mark
sshc keyboard-interactive "$(svc_token_file olga "$(svc_token olga '["ops"]')")" olga
rc_ops=$?
err_ops=$(sed 's/olga@/tess@/' "$SCRATCH/err")
[ "$rc_ops" -ne 0 ] && logged "[service sshd]: the token is in none of the required groups"
ok $? "olga, in ops but not devs or admins, is refused by [service sshd] (logged)"
is "the client sees the same refusal for every cause" "$err_bad|$err_other|$err_ops" "$err_old|$err_old|$err_old"
case $err_old in *"Permission denied"*) ok 0 "and it is \"Permission denied\"" ;; *) ok 1 "Permission denied: $err_old" ;; esac
is "a refused user is not recorded" "$("$PAM_JWT" user list --config "$SCRATCH/pam_jwt.conf" | grep -c olga)" 0

# ---- long tokens: parts through the helper ----
tok=$(svc_token_file big "$(svc_token adam '["devs","admins"]' 300 4096)")
len=$(($(wc -c <"$tok") - 1))
sshc keyboard-interactive "$tok" adam 'id -un'
is "adam logs in with a $len-byte token through pam-jwt-askpass" "$?:$(cat "$SCRATCH/out")" "0:adam"
is "in $(((len + 509) / 510)) parts of at most 511 bytes" "$(prompt_count)" "$(((len + 509) / 510))"
is "the prompts go \"JWT: \", \"JWT (continued, part 2): \", ..." "$(sed -n 2p "$SCRATCH/prompts")" \
	"(adam@127.0.0.1) JWT (continued, part 2): "
PAM_JWT_PART_SIZE=1023
export PAM_JWT_PART_SIZE
sshc keyboard-interactive "$tok" adam 'id -un'
is "and in parts of 1023 bytes, the OpenSSH client's limit ($(prompt_count) prompts)" "$?:$(prompt_count)" \
	"0:$(((len + 1021) / 1022))"
unset PAM_JWT_PART_SIZE
tok16=$(svc_token_file huge "$(svc_token adam '["devs","admins"]' 300 16300)")
sshc keyboard-interactive "$tok16" adam 'id -un'
is "a token of $(($(wc -c <"$tok16") - 1)) bytes ($(prompt_count) parts)" "$?:$(cat "$SCRATCH/out")" "0:adam"
# Without the helper's parts, the client cuts the answer at 1023 bytes: the old failure.
log_mark
cat >"$SCRATCH/whole-askpass" <<EOF
#!/bin/sh
cat "$tok"
EOF
chmod 755 "$SCRATCH/whole-askpass"
SSH_ASKPASS="$SCRATCH/whole-askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=:0 timeout 60 setsid -w ssh -F /dev/null \
	-p "$PORT" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
	-o PreferredAuthentications=keyboard-interactive -o NumberOfPasswordPrompts=1 adam@127.0.0.1 true \
	</dev/null >/dev/null 2>&1
[ $? -ne 0 ]
ok $? "the same token as one answer is cut by the client and refused (why the protocol exists)"
logged "answer 1 is exactly 1023 bytes: probably cut off by the OpenSSH client's 1024-byte buffer"
ok $? "and the log says it was probably cut off and names the fix"

# ---- the password method: one answer, so short tokens only ----
tok=$(svc_token_file tess2 "$(svc_token tess '["devs"]')")
sshc password "$tok" tess 'id -un'
is "tess logs in with the password method and a short token (PAM_JWT_ANSWER_PASSWORD=yes)" \
	"$?:$(cat "$SCRATCH/out")" "0:tess"
sshc password "$(svc_token_file old2 "$(svc_token tess '["devs"]' -3600)")" tess
rc=$?
is "an expired token is refused through the password method, with the same message" \
	"$rc:$(sed 's/(.*)/(METHODS)/' "$SCRATCH/err")" "255:$(echo "$err_old" | sed 's/(.*)/(METHODS)/')"
sshc password "$SCRATCH/big.token" adam true
[ $? -ne 0 ] && grep -q "keyboard-interactive" "$SCRATCH/err"
ok $? "a token over 1023 bytes is not sent as a password; the helper says to use keyboard-interactive"

# ---- two first logins at once (nss_preauth): the uid sshd resolved is the uid the login gets, or none ----
# gated_login TAG USER TOKEN_FILE: USER's connection in the background, held at the JWT prompt (sshd has
# resolved USER and holds its uid) until $SCRATCH/go-TAG exists; its pid in GATED_PID.
gated_login() {
	cat >"$SCRATCH/askpass-$1" <<EOF
#!/bin/sh
: >"$SCRATCH/waiting-$1"
until [ -e "$SCRATCH/go-$1" ]; do sleep 0.1; done
exec "$ASKPASS" "\$1"
EOF
	chmod 755 "$SCRATCH/askpass-$1"
	SSHC_TAG=-$1 SSHC_ASKPASS="$SCRATCH/askpass-$1" sshc keyboard-interactive "$3" "$2" \
		'echo "$(id -u) $(id -un)"' &
	GATED_PID=$!
	timeout 30 sh -c "until [ -e '$SCRATCH/waiting-$1' ]; do sleep 0.1; done" ||
		diag "$2's connection did not reach the prompt"
}
# gated_refused TAG UID WHAT LOG_TEXT: releases TAG's connection; it must be refused (no session as UID) and
# LOG_TEXT logged.
gated_refused() {
	: >"$SCRATCH/go-$1"
	wait "$GATED_PID"
	rc=$?
	[ "$rc" -ne 0 ] && ! grep -q "$2" "$SCRATCH/out-$1"
	ok $? "$3 (rc $rc, $(cat "$SCRATCH/out-$1"))"
	logged "$4"
	ok $? "and logged: $4"
}
# Two fresh names whose hash is the same uid, as someone who knows the configuration finds in a second.
set -- $("$TOP_BUILDDIR/tests/nss-tool" collide "$SCRATCH/pam_jwt.conf" race)
VICTIM=$1 MALLORY=$2 SLOT=$3
is "$VICTIM and $MALLORY are both promised uid $SLOT before any login" \
	"$(sshd_getent passwd "$VICTIM" | cut -d: -f3) $(sshd_getent passwd "$MALLORY" | cut -d: -f3)" \
	"$SLOT $SLOT"
log_mark
gated_login mallory "$MALLORY" "$(svc_token_file mallory "$(svc_token "$MALLORY" '["devs"]')")"
sshc keyboard-interactive "$(svc_token_file victim "$(svc_token "$VICTIM" '["devs"]')")" "$VICTIM" \
	'echo "$(id -u) $(id -un)"'
is "$VICTIM logs in first, while $MALLORY's connection waits, and gets uid $SLOT" "$?:$(cat "$SCRATCH/out")" \
	"0:$SLOT $VICTIM"
gated_refused mallory "$SLOT" "$MALLORY's login is then refused: no session as $VICTIM's uid" \
	"refused: user $MALLORY would get uid $SLOT, which pam_jwt already gave to another user or group"
is "$MALLORY is not recorded" "$("$PAM_JWT" user list --config "$SCRATCH/pam_jwt.conf" | grep -c "$MALLORY")" 0
# the store changes under a waiting connection some other way: pam-jwt user add gives the name another uid
MEL_UID=$(sshd_getent passwd mel | cut -d: -f3)
log_mark
gated_login mel mel "$(svc_token_file mel "$(svc_token mel '["devs"]')")"
"$PAM_JWT" user add mel --uid $((MEL_UID + 1)) --config "$SCRATCH/pam_jwt.conf" >/dev/null
is "meanwhile pam-jwt user add gives mel uid $((MEL_UID + 1)), not the $MEL_UID sshd resolved" \
	"$(getent passwd mel | cut -d: -f3)" "$((MEL_UID + 1))"
gated_refused mel "$MEL_UID" "mel's login is refused: sshd would run it as uid $MEL_UID" \
	"refused: NSS resolves mel to uid $MEL_UID in this process, but pam_jwt's user has uid $((MEL_UID + 1))"

# ---- DPoP (issue #13): a bound token with a proof for this login, through pam-jwt-askpass ----
sed -i 's/^\[global\]$/[global]\ndpop = yes\ndpop_host_names = 127.0.0.1/' "$SCRATCH/pam_jwt.conf"
JKT=$("$PAM_JWT" dpop keygen --key "$SCRATCH/adam-dpop.token.key") &&
	"$PAM_JWT" dpop keygen --key "$SCRATCH/other-dpop.key" >/dev/null ||
	{ echo "Bail out! pam-jwt dpop keygen failed"; exit 1; }
bound=$(svc_token_file adam-dpop "$("$JWT_MINT" sign ES256 "$SCRATCH/ES256.pem" ES256 \
	"{\"iss\":\"$ISS\",\"aud\":\"pam\",\"sub\":\"sub-adam\",\"exp\":@now+300,\"iat\":@now,\"preferred_username\":\"adam\",\"groups\":[\"devs\",\"admins\"],\"cnf\":{\"jkt\":\"$JKT\"}}")")
log_mark
sshc keyboard-interactive "$bound" adam 'id -un'
is "DPoP: adam logs in with a bound token and a fresh proof made by pam-jwt-askpass" "$?:$(cat "$SCRATCH/out")" "0:adam"
grep -q '^(adam@127.0.0.1) \[DPoP nonce=[A-Za-z0-9_-]* service=sshd\] JWT: $' "$SCRATCH/prompts" && [ "$(prompt_count)" -ge 2 ]
ok $? "the prompt carried the nonce; token~proof went in $(prompt_count) parts"
! grep -qF "$(cut -d. -f3 "$bound")" "$SCRATCH/syslog" && logged "accepted token for adam"
ok $? "logged as accepted, without the token's signature"
log_mark
PAM_JWT_DPOP_KEY=/nonexistent sshc keyboard-interactive "$bound" adam true
[ $? -ne 0 ] && logged "refused token for adam: the token is DPoP-bound (cnf.jkt) but no DPoP proof came with it"
ok $? "DPoP: the same token without a proof is refused (logged why)"
log_mark
PAM_JWT_DPOP_KEY="$SCRATCH/other-dpop.key" sshc keyboard-interactive "$bound" adam true
[ $? -ne 0 ] && logged "DPoP proof: its key is not the one the token is bound to"
ok $? "DPoP: a proof from another key is refused (logged why)"
log_mark
SSHC_HOST=localhost SSHC_HOSTS=localhost sshc keyboard-interactive "$bound" adam true
[ $? -ne 0 ] && logged 'DPoP proof: htu names host "localhost", not this host'
ok $? "DPoP: a proof naming another host (the client connected as localhost) is refused (logged why)"
SSHC_HOSTS="*.example.com" sshc keyboard-interactive "$bound" adam true
[ $? -ne 0 ] && grep -q "not sending the token to 127.0.0.1" "$SCRATCH/err"
ok $? "pam-jwt-askpass sends nothing to a host not in PAM_JWT_HOSTS, and says so"
log_mark
sshc keyboard-interactive "$(svc_token_file tess-plain "$(svc_token tess '["devs"]')")" tess 'id -un'
is "sshd still takes a plain token while DPoP is offered" "$?:$(cat "$SCRATCH/out")" "0:tess"
kill "$SSHD_PID" 2>/dev/null
wait "$SSHD_PID" 2>/dev/null
! kill -0 "$SSHD_PID" 2>/dev/null
ok $? "sshd is stopped"
done_testing
