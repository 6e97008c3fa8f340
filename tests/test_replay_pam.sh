#!/bin/sh
# test_replay_pam.sh: replay_protection = jti and max_token_age through pamtester and the real PAM stack.
# SPDX-License-Identifier: BSD-3-Clause
. "${TOP_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"
. "$TOP_SRCDIR/tests/svc_lib.sh"

need_pamtester
svc_enter "$0" "$@"
svc_setup
svc_syslog
sed -i 's/^groups_claim = groups$/groups_claim = groups\nreplay_protection = jti\nmax_token_age = 10m/' \
	"$SCRATCH/pam_jwt.conf"
svc_generic
svc_install_pamd common-auth

# token USER JTI [IAT]: an ES256 token with that jti ("-": none), issued at IAT (default @now).
token() {
	jti=""
	[ "$2" = - ] || jti=",\"jti\":\"$2\""
	"$JWT_MINT" sign ES256 "$SCRATCH/ES256.pem" ES256 \
		"{\"iss\":\"$ISS\",\"aud\":\"pam\",\"sub\":\"sub-$1\",\"exp\":@now+300,\"iat\":${3:-@now},\"preferred_username\":\"$1\",\"groups\":[\"devs\"]$jti}"
}
login() { svc_generic_login "$@"; }

T1=$(token dana jti-1)
log_mark
login dana "$T1"
is "a token with a jti logs in" "$?" 0
log_mark
login dana "$T1"
[ $? -ne 0 ] && logged "refused token for dana: token already used on this host"
ok $? "the same token again is refused as used on this host"
printf '%s\n' "$T1" | "$PAM_JWT" verify --config "$SCRATCH/pam_jwt.conf" >"$SCRATCH/verify.out"
[ $? -eq 1 ] && grep -q "already used on this host" "$SCRATCH/verify.out"
ok $? "pam-jwt verify says so too (and uses nothing up)"
T2=$(token dana jti-2)
printf '%s\n' "$T2" | "$PAM_JWT" verify --config "$SCRATCH/pam_jwt.conf" >/dev/null && login dana "$T2"
is "a token checked with pam-jwt verify can still log in once" "$?" 0
log_mark
login dana "$(token dana -)"
[ $? -ne 0 ] && logged "no jti claim (replay_protection = jti)"
ok $? "a token without jti is refused when replay_protection = jti"
log_mark
login dana "$(token dana jti-old @now-900)"
[ $? -ne 0 ] && logged "more than max_token_age 600s ago"
ok $? "a token issued 15 minutes ago is refused by max_token_age = 10m, though its exp is ahead"

# 32 logins of one token at once: exactly one gets in.
T3=$(token dana jti-parallel)
i=0
pids=""
while [ $i -lt 32 ]; do
	login dana "$T3" "$SCRATCH/par.$i" &
	pids="$pids $!"
	i=$((i + 1))
done
wins=0
for p in $pids; do
	wait "$p" && wins=$((wins + 1))
done
is "32 parallel logins with one token: exactly one succeeds" "$wins" 1

# A login killed at the prompt leaves nothing behind: no lock, no used-up token.
T4=$(token dana jti-killed)
mkfifo "$SCRATCH/fifo"
"$PAMTESTER" pam-jwt-generic dana authenticate <"$SCRATCH/fifo" >/dev/null 2>&1 &
kpid=$!
exec 7>"$SCRATCH/fifo"
kill -9 "$kpid"
wait "$kpid" 2>/dev/null
exec 7>&-
login dana "$T4"
is "after a login is killed with SIGKILL, the next one with its token goes through" "$?" 0
ls -l /var/lib/pam_jwt/replay.db | grep -q '^-rw------- 1 root root'
ok $? "the seen-set is /var/lib/pam_jwt/replay.db, root's, 0600"
done_testing
