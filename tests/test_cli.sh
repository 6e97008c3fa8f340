#!/bin/sh
# test_cli.sh: `pam-jwt verify` and `pam-jwt check-config`: verdicts, reasons, JSON, exit codes.
# SPDX-License-Identifier: BSD-3-Clause
. "$(dirname "$0")/lib.sh"

need_root
make_scratch
ISS=https://idp.example.com
make_issuer "$SCRATCH" "$ISS" || { echo "Bail out! cannot make keys"; exit 1; }
CONF="$SCRATCH/pam_jwt.conf"

for alg in $ALL_ALGS; do
	out=$(mint "$SCRATCH" "$alg" "$ISS" alice | "$PAM_JWT" verify --config "$CONF" --user alice)
	rc=$?
	[ $rc -eq 0 ] && echo "$out" | grep -q '^accepted' && echo "$out" | grep -q 'username: alice'
	ok $? "$alg: pam-jwt verify accepts (exit $rc)"
done

out=$(mint "$SCRATCH" ES256 "$ISS" alice | "$PAM_JWT" verify --config "$CONF" --user bob)
rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -q '^refused: token is for user alice, not bob'
ok $? "another user: exit 1 with the reason"

# the account checks the module makes after the signature, read-only (issue #14: verify accepted these)
out=$(mint "$SCRATCH" ES256 "$ISS" nobody | "$PAM_JWT" verify --config "$CONF" --user nobody)
rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -q '^refused: nobody is a local account or group'
ok $? "a system account (nobody): refused as the module refuses it (exit $rc)"
"$TOP_BUILDDIR/tests/nss-tool" login "$CONF" "$ISS" '{"sub":"another","preferred_username":"zoe"}' 2>/dev/null
out=$(mint "$SCRATCH" ES256 "$ISS" zoe | "$PAM_JWT" verify --config "$CONF" --user zoe 2>&1)
rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -q 'user zoe is bound to another identity'
ok $? "a name bound to another (iss, sub): refused (exit $rc)"
mint "$SCRATCH" ES256 "$ISS" zoe | "$PAM_JWT" verify --config "$CONF" --user zoe >/dev/null 2>&1
before=$(stat -c '%i %s %Y' "$SCRATCH/users.db")
out=$(printf '%s' "$(mint "$SCRATCH" ES256 "$ISS" newcomer)" | "$PAM_JWT" verify --config "$CONF" --user newcomer)
[ $? -eq 0 ] && [ "$(stat -c '%i %s %Y' "$SCRATCH/users.db")" = "$before" ] &&
	! "$PAM_JWT" user show newcomer --config "$CONF" >/dev/null 2>&1
ok $? "a name a first login could record is accepted, and verify records nothing"
"$TOP_BUILDDIR/tests/nss-tool" login "$CONF" "$ISS" '{"sub":"sub-gwen","preferred_username":"gwen","groups":["crew"]}' 2>/dev/null
out=$(mint "$SCRATCH" ES256 "$ISS" crew | "$PAM_JWT" verify --config "$CONF" --user crew 2>&1)
rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -q 'crew is the name of a managed group'
ok $? "the name of a managed group (crew, gwen's): refused as a first login would be (exit $rc)"
sed 's/^groups_claim = groups$/&\nuid_claim = uid/' "$CONF" >"$SCRATCH/uid_claim.conf"
out=$("$JWT_MINT" sign ES256 "$SCRATCH/ES256.pem" ES256 \
	"{\"iss\":\"$ISS\",\"aud\":\"pam\",\"sub\":\"sub-gwen\",\"exp\":@now+300,\"iat\":@now,\"preferred_username\":\"gwen\",\"uid\":2000000001}" |
	"$PAM_JWT" verify --config "$SCRATCH/uid_claim.conf" --user gwen 2>&1)
rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -q "uid claim 2000000001 differs from gwen's uid"
ok $? "a uid claim other than the stored user's uid: refused (exit $rc)"

out=$(mint "$SCRATCH" ES256 "$ISS" alice -3600 | "$PAM_JWT" verify --config "$CONF")
rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -q '^refused: token expired'
ok $? "expired token: exit 1, reason says expired"

out=$(mint "$SCRATCH" EdDSA "$ISS" alice | "$PAM_JWT" verify --config "$CONF" --json)
rc=$?
[ $rc -eq 0 ] && echo "$out" | grep -q '"result": "accepted"' && echo "$out" | grep -q '"username": "alice"' &&
	echo "$out" | grep -q '"subject": "sub-alice"' && echo "$out" | grep -q '"devs"'
ok $? "--json: accepted with username, subject and groups"

out=$(printf 'hunter2' | "$PAM_JWT" verify --config "$CONF" --json)
rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -q '"result": "refused"' && echo "$out" | grep -q '"reason"'
ok $? "--json: refused with a reason"

tok=$(mint "$SCRATCH" RS256 "$ISS" alice)
printf '%s\n' "$tok" | "$PAM_JWT" verify --config "$CONF" >/dev/null
ok $? "one trailing newline is ignored"
printf '%s\n\n' "$tok" | "$PAM_JWT" verify --config "$CONF" >/dev/null
[ $? -eq 1 ]
ok $? "two trailing newlines are refused"

cp "$CONF" "$SCRATCH/svc.conf"
printf '[service sshd]\nrequire_groups = devs\n[service sudo]\nrequire_groups = admins\n' >>"$SCRATCH/svc.conf"
chmod 644 "$SCRATCH/svc.conf"
tok_devs=$(mint "$SCRATCH" ES256 "$ISS" alice)
echo "$tok_devs" | "$PAM_JWT" verify --config "$SCRATCH/svc.conf" --service sshd >/dev/null
ok $? "verify --service sshd: a devs member is admitted, as pam_jwt.so would for sshd"
out=$(echo "$tok_devs" | "$PAM_JWT" verify --config "$SCRATCH/svc.conf" --service sudo)
[ $? -eq 1 ] && echo "$out" | grep -q 'service sudo'
ok $? "verify --service sudo: refused by [service sudo]'s require_groups, and says so"
echo "$tok_devs" | "$PAM_JWT" verify --config "$SCRATCH/svc.conf" --service nosuch >/dev/null 2>&1
[ $? -eq 2 ]
ok $? "verify --service naming no section: configuration error (exit 2)"
"$PAM_JWT" check-config --config "$SCRATCH/svc.conf" | grep -q 'require_groups: admins'
ok $? "check-config lists [service] sections and their rules"
"$PAM_JWT" check-config --config "$SCRATCH/svc.conf" |
	grep -q 'PAM services without a \[service\] section of their own (su, login, polkit-1...): no rules'
ok $? "check-config says services without a section get no rules"
printf '[service default]\nrequire_groups = admins\n' >>"$SCRATCH/svc.conf"
"$PAM_JWT" check-config --config "$SCRATCH/svc.conf" |
	grep -q 'PAM services without a \[service\] section of their own: \[service default\] applies'
ok $? "and that [service default] applies to them when there is one"

"$PAM_JWT" check-config --config "$CONF" >/dev/null
ok $? "check-config: a good config passes"
printf '[issuer x]\nissuer = https://x\naudience = a\nno_such_key = 1\n' >"$SCRATCH/bad.conf"
chmod 644 "$SCRATCH/bad.conf"
out=$("$PAM_JWT" check-config --config "$SCRATCH/bad.conf" 2>&1)
[ $? -eq 2 ] && echo "$out" | grep -q 'bad.conf:4' && echo "$out" | grep -q 'no_such_key'
ok $? "check-config: an unknown key fails with file, line and key (exit 2)"
cp "$CONF" "$SCRATCH/open.conf"
chmod 666 "$SCRATCH/open.conf"
out=$(echo "$tok" | "$PAM_JWT" verify --config "$SCRATCH/open.conf" 2>&1)
[ $? -eq 2 ] && echo "$out" | grep -q 'writable'
ok $? "verify: a config writable by others is refused (exit 2)"
"$PAM_JWT" verify --config "$SCRATCH/none.conf" </dev/null >/dev/null 2>&1
[ $? -eq 2 ]
ok $? "verify: a missing config exits 2"
"$PAM_JWT" verify --bogus </dev/null >/dev/null 2>&1
[ $? -eq 2 ]
ok $? "usage error exits 2"
"$PAM_JWT" user init --config "$CONF" >/dev/null && [ -f "$SCRATCH/users.db" ]
ok $? "user init: creates the store in state_dir"
"$PAM_JWT" user add carol --config "$CONF" >/dev/null
ok $? "user add (with --config after the action)"
"$PAM_JWT" user --config "$CONF" list | grep -q carol
ok $? "user list shows the added user"
"$PAM_JWT" user show carol --config="$CONF" | grep -q carol
ok $? "user show (with --config=FILE)"
"$PAM_JWT" user del carol --config "$CONF" >/dev/null && ! "$PAM_JWT" user list --config "$CONF" | grep -q carol
ok $? "user del removes the user"
"$PAM_JWT" jwks status --config "$CONF" | grep -q "test"
ok $? "jwks status names the issuer"
"$PAM_JWT" --version | grep -q '^pam-jwt [0-9]'
ok $? "--version"
"$PAM_JWT" --help | grep -q 'verify'
ok $? "--help"
# Every command parses with getopt_long: options in any order, --opt=value, unknown options refused.
"$PAM_JWT" jwks --issuer=test --config "$CONF" status | grep -q "test"
ok $? "jwks: options before the subcommand word, --issuer=NAME"
"$PAM_JWT" user add dave --config "$CONF" --gecos="Dave D" >/dev/null &&
	"$PAM_JWT" user show --config "$CONF" dave | grep -q 'gecos: *Dave D' &&
	"$PAM_JWT" user del dave --config "$CONF" >/dev/null
ok $? "user add NAME --gecos=TEXT, show with --config before NAME"
"$PAM_JWT" user show dave --uid 5 --config "$CONF" >/dev/null 2>&1
[ $? -eq 2 ]
ok $? "user: --uid with another action than add is a usage error (exit 2)"
"$PAM_JWT" jwks status --bogus --config "$CONF" >/dev/null 2>&1
[ $? -eq 2 ]
ok $? "jwks: an unknown option is a usage error (exit 2)"
# pam-jwt holds tokens and keys: it makes itself non-dumpable (no core file, no ptrace by the user's other
# processes), which shows as /proc/PID/status belonging to root while it runs as nobody. A copy in the
# scratch directory: nobody may not reach the build tree (a clone under /root, mode 0700).
cp "$PAM_JWT" "$SCRATCH/pam-jwt-copy" && chmod 755 "$SCRATCH/pam-jwt-copy" && mkfifo -m 600 "$SCRATCH/stdin"
# read-write: opening the FIFO does not wait for a writer, and the read waits for a token that never comes
setpriv --reuid=65534 --regid=65534 --clear-groups "$SCRATCH/pam-jwt-copy" verify --config "$CONF" \
	<>"$SCRATCH/stdin" >/dev/null 2>&1 &
pid=$!
# it is past its start once it waits in read(2) (system call 0) on its input
timeout 20 sh -c "until [ \"\$(cut -d' ' -f1 /proc/$pid/syscall 2>/dev/null)\" = 0 ] &&
	[ \"\$(readlink /proc/$pid/exe)\" = '$SCRATCH/pam-jwt-copy' ]; do sleep 0.05; done"
owner=$(stat -c %u "/proc/$pid/status" 2>/dev/null)
kill "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
is "pam-jwt, run by nobody, is not dumpable: no core file or ptrace of a token" "$owner" 0
ASKPASS="$TOP_BUILDDIR/pam-jwt-askpass"
"$ASKPASS" --version | grep -q '^pam-jwt-askpass [0-9]' && "$ASKPASS" -h | grep -q 'usage: pam-jwt-askpass'
ok $? "pam-jwt-askpass --version and -h"
"$ASKPASS" a b >/dev/null 2>&1
[ $? -eq 2 ]
ok $? "pam-jwt-askpass with two arguments: usage (exit 2)"
done_testing
