#!/bin/sh
# test_conf.sh: the examples in conf/ are valid as shipped: pam_jwt.conf parses (with its [service]
# SPDX-License-Identifier: BSD-3-Clause
# sections), every PAM module they name exists, nsswitch.conf puts jwt after files, the README's
# protocol matches the module's prompts. (The service tests run the pam.d and sshd files themselves.)
. "${TOP_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"

need_root
CONF_DIR="$TOP_SRCDIR/conf"
make_scratch
# pam-jwt wants a root-owned file that others cannot write, wherever the source tree is.
install -m 644 "$CONF_DIR/pam_jwt.conf" "$SCRATCH/pam_jwt.conf"
"$PAM_JWT" check-config --config "$SCRATCH/pam_jwt.conf" >"$SCRATCH/out" 2>&1
ok $? "conf/pam_jwt.conf passes pam-jwt check-config"
grep -q '^\[service sshd\]' "$SCRATCH/pam_jwt.conf" && grep -q '^\[service sudo\]' "$SCRATCH/pam_jwt.conf"
ok $? "and has [service sshd] and [service sudo]"
# a broken copy is refused, so the check above means something
sed 's/^require_groups = admins$/require_groups_typo = admins/' "$SCRATCH/pam_jwt.conf" >"$SCRATCH/bad.conf"
chmod 644 "$SCRATCH/bad.conf"
"$PAM_JWT" check-config --config "$SCRATCH/bad.conf" >/dev/null 2>&1
[ $? -eq 2 ]
ok $? "a typo in a [service] key makes check-config fail"

PAMDIR=$(dirname "$(find /lib /usr/lib /lib64 /usr/lib64 -name pam_unix.so 2>/dev/null | head -1)")
[ -f "$PAMDIR/pam_unix.so" ] || { echo "Bail out! no pam_unix.so"; exit 1; }
missing=""
for f in "$CONF_DIR"/pam.d/*; do
	for m in $(sed -n 's/^[a-z-]*[ \t]*\(\[[^]]*\]\|[a-z]*\)[ \t]*\(pam_[a-z_]*\.so\).*/\2/p' "$f"); do
		[ "$m" = pam_jwt.so ] || [ -f "$PAMDIR/$m" ] || missing="$missing $(basename "$f"):$m"
	done
done
is "every module conf/pam.d names is installed (in $PAMDIR)" "$missing" ""
n=$(grep -h 'pam_jwt\.so' "$CONF_DIR"/pam.d/* | grep -vc '^#')
[ "$n" -ge 8 ]
ok $? "the pam.d examples use pam_jwt.so ($n lines)"
for db in passwd group; do
	grep -Eq "^$db:[ \t]+files( systemd)? jwt$" "$CONF_DIR/nsswitch.conf"
	ok $? "nsswitch.conf: $db has jwt after files"
done
grep -qF 'JWT (continued, part N): ' "$CONF_DIR/README.md" &&
	grep -q '^#define PJ_CONT_PROMPT_FMT *"JWT (continued, part %u): "' "$TOP_SRCDIR/pam_jwt/continuation.h"
ok $? "conf/README.md documents the continuation prompt the module uses"
done_testing
