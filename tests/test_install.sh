#!/bin/sh
# test_install.sh: "make install DESTDIR=..." puts exactly the files the packages expect where they expect them.
# SPDX-License-Identifier: BSD-3-Clause
. "$(dirname "$0")/lib.sh"

command -v make >/dev/null 2>&1 || skip_all "make not found"
command -v readelf >/dev/null 2>&1 || skip_all "readelf not found (binutils)"
umask 022
make_scratch
dest="$SCRATCH/root"

# A make of its own: none of the calling make check's jobserver or command-line variables (TESTS=...).
submake() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$TOP_BUILDDIR" "$@"
}

# The directories this build tree was configured with.
dirs=$(printf 'pj-print-dirs:\n\t@echo "$(PAMDIR)|$(NSSDIR)|$(bindir)|$(mandir)|$(SYSTEMDUNITDIR)|$(TMPFILESDIR)"\n' |
	submake -f Makefile -f - pj-print-dirs)
pamdir=$(echo "$dirs" | cut -d'|' -f1)
nssdir=$(echo "$dirs" | cut -d'|' -f2)
bindir=$(echo "$dirs" | cut -d'|' -f3)
mandir=$(echo "$dirs" | cut -d'|' -f4)
unitdir=$(echo "$dirs" | cut -d'|' -f5)
tmpfilesdir=$(echo "$dirs" | cut -d'|' -f6)
[ -n "$pamdir" ] && [ -n "$nssdir" ] && [ -n "$bindir" ]
ok $? "the Makefile names the PAM, NSS and program directories ($pamdir, $nssdir, $bindir)"

submake install DESTDIR="$dest" >"$SCRATCH/install.log" 2>&1
rc=$?
[ $rc -eq 0 ] || sed 's/^/# /' "$SCRATCH/install.log"
ok $rc "make install DESTDIR=... succeeds"

# Every installed file is one the packages ship (packaging/debian/*.install, packaging/rpm/pam_jwt.spec):
# a new one must be added there too.
expected="$pamdir/pam_jwt.so
$nssdir/libnss_jwt.so.2
$nssdir/libnss_jwt.so.2.0.0
$bindir/pam-jwt
$bindir/pam-jwt-askpass"
manpages="$mandir/man1/pam-jwt.1
$mandir/man1/pam-jwt-askpass.1
$mandir/man5/pam_jwt.conf.5
$mandir/man8/pam_jwt.8
$mandir/man8/nss-jwt.8
$unitdir/pam-jwt-refresh.service
$unitdir/pam-jwt-refresh.timer
$tmpfilesdir/pam_jwt.conf"
installed=$(cd "$dest" && find . ! -type d | sed 's|^\.||' | sort)
unexpected=$(echo "$installed" | grep -vxF "$expected
$manpages")
[ -z "$unexpected" ]
ok $? "nothing is installed beyond the packaged files (extra: $(echo $unexpected))"
for f in $expected; do
	[ -e "$dest$f" ]
	ok $? "$f is installed"
done
for f in $manpages; do
	[ -f "$dest$f" ] && [ "$(stat -c %a "$dest$f")" = 644 ]
	ok $? "$f is installed, mode 0644"
done

# The unit runs the pam-jwt just installed, and only once the configuration it reads exists.
unit="$dest$unitdir/pam-jwt-refresh.service"
grep -qx "ExecStart=$bindir/pam-jwt jwks refresh --expiring 1800" "$unit"
ok $? "pam-jwt-refresh.service runs $bindir/pam-jwt jwks refresh --expiring 1800"
conf=$(printf 'pj-print-conf:\n\t@echo "$(sysconfdir)"\n' | submake -f Makefile -f - pj-print-conf)
grep -qx "ConditionPathExists=$conf/pam_jwt.conf" "$unit"
ok $? "pam-jwt-refresh.service is skipped while $conf/pam_jwt.conf does not exist"

# The sandbox stays tight: systemd's own exposure score (0 best .. 10 worst; 1.6 when written) at most 2.0.
if command -v systemd-analyze >/dev/null 2>&1 &&
	systemd-analyze security --offline=yes --help >/dev/null 2>&1; then
	systemd-analyze security --offline=yes --threshold=20 "$unit" >"$SCRATCH/security.log" 2>&1
	ok $? "systemd-analyze security: pam-jwt-refresh.service's exposure is at most 2.0 ($(grep -o 'level for .*' \
		"$SCRATCH/security.log"))"
fi

# glibc loads "libnss_NAME.so.2": that name must exist, carry that soname and need nothing but libc.
nss="$dest$nssdir/libnss_jwt.so.2"
readelf -d "$nss" 2>/dev/null | grep -q 'Library soname: \[libnss_jwt\.so\.2\]'
ok $? "libnss_jwt.so.2 has the soname libnss_jwt.so.2"
needed=$(needed_libs "$nss" 2>/dev/null)
[ "$needed" = "libc.so.6" ]
ok $? "libnss_jwt.so.2 needs libc.so.6 only (needs: $(echo $needed))"
# The install-data-hook: no development symlink or libtool archive for a module nobody links against.
[ ! -e "$dest$nssdir/libnss_jwt.so" ] && [ ! -L "$dest$nssdir/libnss_jwt.so" ]
ok $? "no libnss_jwt.so development symlink"
[ ! -e "$dest$nssdir/libnss_jwt.la" ]
ok $? "no libnss_jwt.la"

# Modes: modules and programs 0755 regular files (through symlinks), nothing setuid or setgid, nothing
# anywhere in the tree writable by group or others.
for f in $expected; do
	mode=$(stat -L -c %a "$dest$f" 2>/dev/null)
	[ -f "$dest$f" ] && [ "$mode" = 755 ]
	ok $? "$f is a regular file with mode 0755 (mode $mode)"
done
loose=$(find "$dest" ! -type l \( -perm -g+w -o -perm -o+w -o -perm -u+s -o -perm -g+s \) -print)
[ -z "$loose" ]
ok $? "nothing installed is group/other-writable, setuid or setgid ($(echo $loose))"

# make uninstall (with its uninstall-hook for libnss_jwt.so.2) removes every file again.
submake uninstall DESTDIR="$dest" >"$SCRATCH/uninstall.log" 2>&1
ok $? "make uninstall DESTDIR=... succeeds"
left=$(find "$dest" ! -type d -print)
[ -z "$left" ]
ok $? "make uninstall leaves no file behind ($(echo $left))"

done_testing
