#!/bin/sh
# test_pamtester.sh: pamtester logs in with tokens of every algorithm through a test /etc/pam.d.
# SPDX-License-Identifier: BSD-3-Clause
# The test /etc/pam.d is bound over the real one inside a private mount namespace (the host's /etc is never
# touched).
. "$(dirname "$0")/lib.sh"

need_root
need_pamtester
unshare -m true 2>/dev/null || skip_all "cannot create a mount namespace"
make_scratch
ISS=https://idp.example.com
make_issuer "$SCRATCH" "$ISS" || { echo "Bail out! cannot make keys"; exit 1; }

mkdir "$SCRATCH/pam.d"
cat >"$SCRATCH/pam.d/pam-jwt-test" <<EOF2
auth     required  $PAM_MODULE config=$SCRATCH/pam_jwt.conf
account  required  pam_permit.so
EOF2
cat >"$SCRATCH/pam.d/pam-jwt-fallback" <<EOF2
auth     sufficient  $PAM_MODULE config=$SCRATCH/pam_jwt.conf ignore_non_jwt
auth     required    pam_deny.so
EOF2
# pamtester is run inside the namespace; it reads the token from standard input.
cat >"$SCRATCH/inside.sh" <<EOF2
#!/bin/sh
mount --make-rprivate / && mount --bind "$SCRATCH/pam.d" /etc/pam.d || exit 99
service=\$1; user=\$2; tokenfile=\$3
"$PAMTESTER" "\$service" "\$user" authenticate <"\$tokenfile"
EOF2
chmod +x "$SCRATCH/inside.sh"

login() { # SERVICE USER TOKEN -> pamtester's exit status
	printf '%s\n' "$3" >"$SCRATCH/token"
	unshare -m "$SCRATCH/inside.sh" "$1" "$2" "$SCRATCH/token" >"$SCRATCH/out" 2>&1
}

for alg in $ALL_ALGS; do
	login pam-jwt-test alice "$(mint "$SCRATCH" "$alg" "$ISS" alice)"
	ok $? "$alg: pamtester authenticates alice"
done
login pam-jwt-test bob "$(mint "$SCRATCH" ES256 "$ISS" alice)"
[ $? -ne 0 ]
ok $? "alice's token does not log in bob"
login pam-jwt-test alice "$(mint "$SCRATCH" ES256 "$ISS" alice -3600)"
[ $? -ne 0 ]
ok $? "an expired token is refused"
login pam-jwt-test alice "$(mint "$SCRATCH" ES256 https://evil.example.com alice)"
[ $? -ne 0 ]
ok $? "a token from an unknown issuer is refused"
login pam-jwt-fallback alice "hunter2"
[ $? -ne 0 ]
ok $? "a password falls through to the next module (pam_deny here)"
grep -q 'successfully authenticated' "$SCRATCH/out"
[ $? -ne 0 ]
ok $? "pamtester did not report success for the password"
# OpenSSL's configuration: not read for a login (it costs a cold login ~0.3 ms and a signature check needs
# nothing from it), but read when the environment names one (OPENSSL_CONF, as a FIPS setup may). A
# configuration that asks for FIPS algorithms only (there is no FIPS provider here, so every verification
# fails with it) shows which: bound over the system's in the namespace, the login still works; named by
# OPENSSL_CONF, it fails.
cat >"$SCRATCH/broken.cnf" <<EOF2
openssl_conf = openssl_init
[openssl_init]
alg_section = evp_properties
[evp_properties]
default_properties = fips=yes
EOF2
# inside-cnf.sh FIPS COMMAND...: COMMAND with the test pam.d and that configuration bound over the system's;
# FIPS 0 or 1 also plays a kernel whose /proc/sys/crypto/fips_enabled says so (a tmpfs over /proc/sys), "-"
# leaves /proc/sys alone.
cat >"$SCRATCH/inside-cnf.sh" <<EOF2
#!/bin/sh
mount --make-rprivate / && mount --bind "$SCRATCH/pam.d" /etc/pam.d &&
	mount --bind "$SCRATCH/broken.cnf" "$(openssl version -d | sed 's/^OPENSSLDIR: "\(.*\)"$/\1/')/openssl.cnf" || exit 99
if [ "\$1" != - ]; then
	mount -t tmpfs none /proc/sys && mkdir /proc/sys/crypto && echo "\$1" >/proc/sys/crypto/fips_enabled || exit 99
fi
shift
exec "\$@"
EOF2
chmod +x "$SCRATCH/inside-cnf.sh"
printf '%s\n' "$(mint "$SCRATCH" ES256 "$ISS" alice)" >"$SCRATCH/token"
unshare -m "$SCRATCH/inside-cnf.sh" - "$PAMTESTER" pam-jwt-test alice authenticate <"$SCRATCH/token" \
	>"$SCRATCH/out" 2>&1
ok $? "a system openssl.cnf asking for FIPS algorithms only: not read, the login works"
OPENSSL_CONF="$SCRATCH/broken.cnf" unshare -m "$SCRATCH/inside-cnf.sh" - "$PAMTESTER" pam-jwt-test alice \
	authenticate <"$SCRATCH/token" >"$SCRATCH/out" 2>&1
rc=$?
[ $rc -ne 0 ] && [ $rc -ne 99 ] && grep -q 'pamtester: ' "$SCRATCH/out"
ok $? "the same named by OPENSSL_CONF (a FIPS setup's way): read, and the login fails with it"
# The kernel's FIPS mode (fips=1 at boot: /proc/sys/crypto/fips_enabled says 1) has the configuration read
# too. The file is read once per process, not at each authentication (strace counts the opens over two
# pam_authenticate calls of one pamtester).
unshare -m "$SCRATCH/inside-cnf.sh" 1 "$PAMTESTER" pam-jwt-test alice authenticate <"$SCRATCH/token" \
	>"$SCRATCH/out" 2>&1
rc=$?
[ $rc -ne 0 ] && [ $rc -ne 99 ] && grep -q 'pamtester: ' "$SCRATCH/out"
ok $? "the kernel in FIPS mode (fips_enabled 1): openssl.cnf read, and the login fails with the same file"
unshare -m "$SCRATCH/inside-cnf.sh" 0 "$PAMTESTER" pam-jwt-test alice authenticate <"$SCRATCH/token" \
	>"$SCRATCH/out" 2>&1
ok $? "the kernel not in FIPS mode (fips_enabled 0): not read, the login works"
cat "$SCRATCH/token" "$SCRATCH/token" >"$SCRATCH/token2"
unshare -m "$SCRATCH/inside-cnf.sh" 0 strace -f -qq -e trace=open,openat -o "$SCRATCH/strace.out" \
	"$PAMTESTER" pam-jwt-test alice authenticate authenticate <"$SCRATCH/token2" >"$SCRATCH/out" 2>&1 &&
	[ "$(grep -c 'fips_enabled' "$SCRATCH/strace.out")" -eq 1 ]
ok $? "two authentications in one process read fips_enabled once"
[ ! -e /etc/pam.d/pam-jwt-test ]
ok $? "the host's /etc/pam.d was not changed"
done_testing
