#!/bin/sh
# test_sudo.sh: the real sudo with conf/pam.d/sudo, run as token users (setpriv) with pam-jwt-askpass as
# SPDX-License-Identifier: BSD-3-Clause
# SUDO_ASKPASS, and a test sudoers (%sudo may run anything), in a private mount namespace (svc_lib.sh).
. "${TOP_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"
. "$TOP_SRCDIR/tests/svc_lib.sh"

SUDO=/usr/bin/sudo
[ -x "$SUDO" ] && [ -u "$SUDO" ] || skip_all "no setuid sudo (apt-get install sudo)"
command -v setpriv >/dev/null 2>&1 || skip_all "no setpriv (util-linux)"
need_pamtester
svc_enter "$0" "$@"
svc_setup
svc_syslog
svc_install_pamd sudo sudo-i common-auth
# sudoers as Debian's, without the lecture or cached credentials.
cat >"$SCRATCH/sudoers" <<'EOF'
Defaults	env_reset
Defaults	secure_path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
Defaults	lecture=never, timestamp_timeout=0, passwd_tries=1
root	ALL=(ALL:ALL) ALL
%sudo	ALL=(ALL:ALL) ALL
EOF
# a sanitizer build: commands keep the sanitizer options (the runtime is preloaded into them too)
[ -z "${PJ_SAN_PRELOAD:-}" ] || echo 'Defaults	env_keep += "ASAN_OPTIONS UBSAN_OPTIONS"' >>"$SCRATCH/sudoers"
chmod 0440 "$SCRATCH/sudoers"
mount --bind "$SCRATCH/sudoers" /etc/sudoers || skip_all "cannot bind /etc/sudoers"
# A generic service for the first logins: whatever includes common-auth (here conf/pam.d/common-auth).
svc_generic

# login USER TOKEN: a first login through pamtester (records the user and the groups).
login() { svc_generic_login "$1" "$2" "$SCRATCH/pamtester.out"; }

# as USER TOKEN_FILE COMMAND...: runs COMMAND as USER with their groups and a clean environment, with
# pam-jwt-askpass reading TOKEN_FILE; output in $SCRATCH/out and $SCRATCH/err.
as() {
	user=$1 tokfile=$2
	shift 2
	uid=$(getent passwd "$user" | cut -d: -f3)
	chown "$uid" "$tokfile"
	timeout 60 setpriv --reuid="$uid" --regid="$uid" --init-groups env -i PATH=/usr/bin:/bin $SAN_ENV HOME=/ \
		SUDO_ASKPASS="$ASKPASS" PAM_JWT_TOKEN_FILE="$tokfile" PAM_JWT_PROGRAM="$SCRATCH/bin/pam-jwt" \
		XDG_RUNTIME_DIR="$SCRATCH/run-$user" "$@" </dev/null >"$SCRATCH/out" 2>"$SCRATCH/err"
}

# sudo_i TOKEN_FILE DESCRIPTION: adam runs sudo -A -i (conf/pam.d/sudo-i, service=sudo), which must run the
# command as root. A sanitizer build skips it: root's login shell runs whatever root's profile runs, and
# programs linked with libsystemd (ps, logger) deadlock with the ASan runtime preloaded (sudo -i's PAM stack is
# the same module as sudo's, tested without -i).
sudo_i() {
	if [ -n "${PJ_SAN_PRELOAD:-}" ]; then
		ok 0 "# SKIP sanitizer build: sudo -i runs root's login profile, where libsystemd programs hang under ASan"
		return
	fi
	as adam "$1" "$SUDO" -A -k -i id -u
	is "$2" "$?:$(cat "$SCRATCH/out")" "0:0"
}

ADAM=$(svc_token adam '["devs","admins"]')
TESS=$(svc_token tess '["devs"]')
OLGA=$(svc_token olga '["ops"]')
login adam "$ADAM" && login tess "$TESS" && login olga "$OLGA"
is "first logins of adam, tess and olga through pamtester and conf/pam.d/common-auth" "$?" 0
id -Gn adam | tr ' ' '\n' | grep -qx sudo
is "adam, in the IdP group admins, is in the local group sudo (group_map = admins:sudo)" "$?" 0
id -Gn olga | tr ' ' '\n' | grep -qx sudo
is "olga (ops) is not" "$?" 1

# ---- a 2 KiB token through pam-jwt-askpass, despite sudo's 511-byte limit ----
big=$(svc_token_file adam-big "$(svc_token adam '["devs","admins"]' 300 2048)")
len=$(($(wc -c <"$big") - 1))
log_mark
as adam "$big" "$SUDO" -A -k id -u
is "adam runs sudo -A with a $len-byte token: the command runs as root" "$?:$(cat "$SCRATCH/out")" "0:0"
logged "accepted token for adam"
ok $? "sudo's PAM stack logged the accepted token"
logged "adam : " && logged "COMMAND=/usr/bin/id -u"
ok $? "sudo logged the command"
as adam "$big" sh -c "$SUDO -A -k true; $SUDO -A -k true"
is "twice in a row (the helper is stateless)" "$?" 0
sudo_i "$big" "sudo -i too (conf/pam.d/sudo-i)"
# The same token typed on standard input (sudo -S): sudo refuses answers of 512 bytes or more.
log_mark
cp "$big" "$SCRATCH/stdin.token"
uid=$(getent passwd adam | cut -d: -f3)
chown "$uid" "$SCRATCH/stdin.token"
timeout 60 setpriv --reuid="$uid" --regid="$uid" --init-groups env -i PATH=/usr/bin:/bin $SAN_ENV \
	"$SUDO" -S -k true <"$SCRATCH/stdin.token" >/dev/null 2>&1
[ $? -ne 0 ]
ok $? "the same token on sudo -S, in one answer, fails (why the protocol exists)"
logged "conversation failed at part 1" && logged "512 bytes or more"
ok $? "and the log names sudo's limit and the fix"
small=$(svc_token_file adam-small "$ADAM")
timeout 60 setpriv --reuid="$uid" --regid="$uid" --init-groups env -i PATH=/usr/bin:/bin $SAN_ENV \
	"$SUDO" -S -k true <"$small" >/dev/null 2>&1
is "a token under 512 bytes works on sudo -S as well" "$?" 0

# ---- refusals ----
log_mark
as tess "$(svc_token_file tess "$TESS")" "$SUDO" -A -k true
[ $? -ne 0 ] && logged "refused token for tess: [service sudo]: the token is in none of the required groups"
ok $? "tess (devs) is refused by [service sudo], which admits admins and ops"
log_mark
as tess "$SCRATCH/tess.token" "$SUDO" -A -k -i true
[ $? -ne 0 ] && logged "refused token for tess: [service sudo]"
ok $? "and by the same section through sudo -i (service=sudo in conf/pam.d/sudo-i)"
log_mark
as olga "$(svc_token_file olga "$OLGA")" "$SUDO" -A -k true
rc=$?
[ $rc -ne 0 ] && logged "accepted token for olga" && grep -q "not in the sudoers file" "$SCRATCH/err"
ok $? "olga (ops) passes PAM, but sudoers refuses her: not in the sudoers file"
as tess "$(svc_token_file adam-for-tess "$ADAM")" "$SUDO" -A -k true
[ $? -ne 0 ]
ok $? "adam's token does not work for tess"
as adam "$(svc_token_file adam-old "$(svc_token adam '["devs","admins"]' -3600)")" "$SUDO" -A -k true
[ $? -ne 0 ]
ok $? "an expired token is refused"
as adam "$(svc_token_file adam-other-key "$(svc_token adam '["devs","admins"]' 300 2048 "$SCRATCH/other.pem")")" \
	"$SUDO" -A -k true
[ $? -ne 0 ]
ok $? "a 2 KiB token signed by another key is refused"
# ---- DPoP (issue #13): [service sudo] require_dpop = yes, sshd unchanged ----
sed -i 's/^\[service sudo\]$/[service sudo]\nrequire_dpop = yes/' "$SCRATCH/pam_jwt.conf"
cp "$PAM_JWT" "$SCRATCH/bin/pam-jwt" && chmod 755 "$SCRATCH/bin/pam-jwt"
uid=$(getent passwd adam | cut -d: -f3)
mkdir -m 0700 "$SCRATCH/run-adam" && chown "$uid" "$SCRATCH/run-adam"
JKT=$("$PAM_JWT" dpop keygen --key "$SCRATCH/adam-dpop.token.key") && chown "$uid" "$SCRATCH/adam-dpop.token.key" ||
	{ echo "Bail out! pam-jwt dpop keygen failed"; exit 1; }
bound=$(svc_token_file adam-dpop "$("$JWT_MINT" sign ES256 "$SCRATCH/ES256.pem" ES256 \
	"{\"iss\":\"$ISS\",\"aud\":\"pam\",\"sub\":\"sub-adam\",\"exp\":@now+300,\"iat\":@now,\"preferred_username\":\"adam\",\"groups\":[\"devs\",\"admins\"],\"cnf\":{\"jkt\":\"$JKT\"}}")")
log_mark
as adam "$bound" "$SUDO" -A -k id -u
is "DPoP: adam runs sudo -A with a bound token and the proof pam-jwt-askpass made" "$?:$(cat "$SCRATCH/out")" "0:0"
logged "accepted token for adam"
ok $? "sudo's PAM stack logged it accepted"
sudo_i "$bound" "and sudo -i (service=sudo)"
log_mark
as adam "$(svc_token_file adam-plain "$ADAM")" "$SUDO" -A -k true
[ $? -ne 0 ] && logged "refused token for adam: require_dpop (service): the token is not DPoP-bound"
ok $? "a plain token is refused by [service sudo] require_dpop (logged why)"
log_mark
"$PAM_JWT" dpop keygen --key "$SCRATCH/adam-other.key" >/dev/null && chown "$uid" "$SCRATCH/adam-other.key"
as adam "$bound" env PAM_JWT_DPOP_KEY="$SCRATCH/adam-other.key" "$SUDO" -A -k true
[ $? -ne 0 ] && logged "DPoP proof: its key is not the one the token is bound to"
ok $? "a proof from another key is refused (logged why)"
done_testing
