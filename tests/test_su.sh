#!/bin/sh
# test_su.sh: su (util-linux, setuid, run by nobody) and a generic service through pamtester.
# SPDX-License-Identifier: BSD-3-Clause
# Both with conf/pam.d/common-auth and common-account under Debian's own /etc/pam.d/su, reading the token
# from standard input a line per prompt as a person pasting parts would; in a private mount namespace.
. "${TOP_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"
. "$TOP_SRCDIR/tests/svc_lib.sh"

SU=$(command -v su) || skip_all "no su"
[ -u "$SU" ] || skip_all "su is not setuid"
command -v setpriv >/dev/null 2>&1 || skip_all "no setpriv (util-linux)"
need_pamtester
svc_enter "$0" "$@"
# su resolves its target user before PAM runs, as sshd does: a first login through su needs pre-auth
# entries for su too (they go to sshd only by default)
SVC_GLOBAL="nss_preauth_programs = sshd su"
svc_setup
svc_syslog
[ -f /etc/pam.d/su ] || skip_all "no /etc/pam.d/su"
svc_install_pamd common-auth common-account
svc_generic

# lines TOKEN PART_SIZE: the token as a person would paste it, a part per line, as pam-jwt-askpass makes
# them: "JWT: " gets part 1, "JWT (continued, part N): " part N, until a part has no trailing '\'.
lines() {
	n=1 prompt="JWT: "
	while :; do
		part=$(PAM_JWT_TOKEN=$1 PAM_JWT_PART_SIZE=$2 "$ASKPASS" "$prompt") || return 1
		printf '%s\n' "$part"
		case $part in *\\) ;; *) return 0 ;; esac
		n=$((n + 1))
		prompt="JWT (continued, part $n): "
	done
}

# su_as_nobody USER INPUT_FILE: su USER -c 'id -un' run by nobody; output in $SCRATCH/out.
su_as_nobody() {
	timeout 60 setpriv --reuid=65534 --regid=65534 --clear-groups "$SU" "$1" -c 'id -un' <"$2" \
		>"$SCRATCH/out" 2>"$SCRATCH/err"
}
generic() { # USER INPUT_FILE [PAM_ACTIONS...]
	user=$1 input=$2
	shift 2
	timeout 60 "$PAMTESTER" pam-jwt-generic "$user" "${@:-authenticate}" <"$input" >"$SCRATCH/out" 2>&1
}

ADAM=$(svc_token adam '["devs","admins"]')
printf '%s\n' "$ADAM" >"$SCRATCH/adam.in"
su_as_nobody adam "$SCRATCH/adam.in"
is "nobody runs su adam with adam's token: a first login, through common-auth and [service su]" \
	"$?:$(tail -1 "$SCRATCH/out")" "0:adam"

# ---- a token longer than pam_misc's 4095-byte line ----
BIG=$(svc_token adam '["devs","admins"]' 300 5000)
printf '%s\n' "$BIG" >"$SCRATCH/big.in"
log_mark
su_as_nobody adam "$SCRATCH/big.in"
[ $? -ne 0 ] && logged "answer 1 is exactly 4095 bytes: probably cut off by a text conversation"
ok $? "a ${#BIG}-byte token on one line is cut at 4095 bytes by su's conversation; the log says so"
lines "$BIG" 511 >"$SCRATCH/big-parts.in"
su_as_nobody adam "$SCRATCH/big-parts.in"
is "the same token in $(wc -l <"$SCRATCH/big-parts.in") lines of at most 511 bytes, each but the last ending in '\\'" \
	"$?:$(tail -1 "$SCRATCH/out")" "0:adam"
grep -c 'JWT (continued, part' "$SCRATCH/out" "$SCRATCH/err" | awk -F: '{s+=$2} END {exit s == 0}'
ok $? "su showed the continuation prompts"

# ---- refusals ----
TESS=$(svc_token tess '["devs"]')
printf '%s\n' "$TESS" >"$SCRATCH/tess.in"
log_mark
su_as_nobody tess "$SCRATCH/tess.in"
[ $? -ne 0 ] && logged "[service su]: the token is in none of the required groups"
ok $? "tess (devs) is refused: the PAM service name su picks [service su] (admins only)"
printf '%s\n' "$(svc_token adam '["devs","admins"]' -3600)" >"$SCRATCH/old.in"
su_as_nobody adam "$SCRATCH/old.in"
[ $? -ne 0 ]
ok $? "an expired token is refused"
printf 'hunter2\n' >"$SCRATCH/pw.in"
log_mark
su_as_nobody adam "$SCRATCH/pw.in"
[ $? -ne 0 ] && logged "pam_unix(su:auth): authentication failure"
ok $? "a password for a token user goes on to pam_unix, which refuses it"

# ---- a generic service through pamtester: the bound ----
HUGE=$(svc_token adam '["devs","admins"]' 300 16300)
lines "$HUGE" 511 >"$SCRATCH/huge.in"
generic adam "$SCRATCH/huge.in"
is "pamtester: a ${#HUGE}-byte token in $(wc -l <"$SCRATCH/huge.in") lines" \
	"$?:$(grep -c 'successfully authenticated' "$SCRATCH/out")" "0:1"
# one byte past max_token_size (16384): the module stops at the part that passes it
PAST=$HUGE
while [ ${#PAST} -lt 16385 ]; do PAST="${PAST}A"; done
lines "$PAST" 511 >"$SCRATCH/past.in"
log_mark
generic adam "$SCRATCH/past.in"
[ $? -ne 0 ] && logged "longer than max_token_size 16384 at part $(wc -l <"$SCRATCH/past.in")"
ok $? "16385 bytes in $(wc -l <"$SCRATCH/past.in") lines: refused at the last part, past max_token_size"

# ---- a caller that is not root (a screen locker, su to oneself): read-only, nothing written ----
as_nobody_generic() { # USER INPUT_FILE
	timeout 60 setpriv --reuid=65534 --regid=65534 --clear-groups "$PAMTESTER" pam-jwt-generic "$1" \
		authenticate <"$2" >"$SCRATCH/out" 2>&1
}
store_stamp() { stat -c '%i %s %Y %Z' /var/lib/pam_jwt/* 2>/dev/null | tr '\n' ' '; }
before=$(store_stamp)
sleep 1 # a write would show in the times
log_mark
as_nobody_generic adam "$SCRATCH/adam.in"
is "pamtester run by nobody: adam (stored, bound to this identity) is accepted" \
	"$?:$(grep -c 'successfully authenticated' "$SCRATCH/out")" "0:1"
logged "adam: checked read-only (this process, uid 65534, is not root): nothing recorded"
ok $? "and logged as a read-only check"
is "nothing in the store changed (files, sizes, times)" "$(store_stamp)" "$before"
printf '%s\n' "$(svc_token ned '["devs","admins"]')" >"$SCRATCH/ned.in"
log_mark
as_nobody_generic ned "$SCRATCH/ned.in"
[ $? -ne 0 ] && logged "ned is not in the user store, and this process (uid 65534) is not root"
ok $? "a user not stored yet is refused by a caller that is not root, with the reason logged"
is "and not recorded" "$("$PAM_JWT" user list --config "$SCRATCH/pam_jwt.conf" | grep -c '^ned')" 0
# an added user not bound yet: its first token login binds it, which only a caller that can write may do
"$PAM_JWT" user add nora --config "$SCRATCH/pam_jwt.conf" >/dev/null
ok $? "pam-jwt user add nora (not bound to an identity)"
printf '%s\n' "$(svc_token nora '["devs"]')" >"$SCRATCH/nora.in"
log_mark
as_nobody_generic nora "$SCRATCH/nora.in"
[ $? -ne 0 ] && logged "user nora is not bound to an identity yet, and this process (uid 65534) is not root"
ok $? "an unbound user is refused by a caller that is not root, with the reason logged"
is "and stays unbound" "$("$PAM_JWT" user show nora --config "$SCRATCH/pam_jwt.conf" | grep -c 'not bound')" 2

# ---- account: why conf/pam.d/common-account ----
generic adam /dev/null acct_mgmt
is "acct_mgmt for adam through conf/pam.d/common-account" "$?" 0
cp /etc/pam.d/common-account "$SCRATCH/common-account.ours"
sed -i '/^account.*pam_jwt/d' /etc/pam.d/common-account
generic adam /dev/null acct_mgmt
is "without pam_jwt's line (Debian's stack) it passes too: NSS gives token users '*', so pam_unix needs no shadow entry" "$?" 0
cp "$SCRATCH/common-account.ours" /etc/pam.d/common-account
done_testing
