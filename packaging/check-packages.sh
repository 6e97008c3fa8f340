#!/bin/bash
# check-packages.sh: builds the .debs, then installs, enables, uses, disables, removes and purges them in a throw-away overlay of /.
# SPDX-License-Identifier: BSD-3-Clause
#
#   packaging/check-packages.sh [DEBDIR]      (make check-packages; root; TAP output, "N passed, N failed")
#
# The piuparts idea without a second system: the root is an overlay whose lower layer is this machine's / and
# whose upper layer is a tmpfs in a private mount namespace, so the host never changes and everything the
# packages write is visible as a file in the upper layer. In that root, as README.md's install section says:
# apt install ./libpam-jwt_*.deb ./libnss-jwt_*.deb && pam-auth-update --enable jwt; then a token login
# through pamtester and the common-auth/common-account stack, the user through NSS, a password login of a
# local user through the same stack, --disable, remove, purge, and a check that nothing is left behind.
# With DEBDIR the packages there are used instead of building them (packaging/build-deb.sh).
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
: "${TOP_BUILDDIR:=$top}"
JWT_MINT="$TOP_BUILDDIR/tests/jwt-mint"

n=0
failed=0
ok() { # STATUS DESCRIPTION
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed + 1)); fi
}
finish() {
	echo "1..$n"
	echo "$((n - failed)) passed, $failed failed"
	[ "$failed" -eq 0 ] && [ "$n" -gt 0 ]
	exit
}
bail() { echo "Bail out! $*"; echo "0 passed, 1 failed"; exit 1; }

# ---- inside the private mount namespace: "$0" --inside WORK ----
if [ "${1:-}" = --inside ]; then
	work=$2
	n=$3 failed=$4 # the tests run outside (lintian) count on
	ovl=$work/ovl
	mount -t tmpfs -o mode=0755 pam-jwt-pkgs "$ovl" || bail "cannot mount a tmpfs"
	mkdir -p "$ovl/upper" "$ovl/work" "$ovl/root"
	mount -t overlay overlay -o "lowerdir=/,upperdir=$ovl/upper,workdir=$ovl/work" "$ovl/root" ||
		bail "cannot mount an overlay of /"
	root=$ovl/root
	mount -t proc proc "$root/proc" && mount --rbind /dev "$root/dev" && mount -t tmpfs tmpfs "$root/run" ||
		bail "cannot mount /proc, /dev and /run in the root"
	upper=$ovl/upper
	in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
		LC_ALL=C.UTF-8 "$@"; }

	# What the setup wrote (as an administrator would before installing); what is in the upper layer
	# afterwards beyond this and the package manager's own records was left behind by the packages.
	# The upper layer's differences from this machine's / (the lower layer): copied-up files whose content,
	# mode and kind did not change do not count.
	snapshot() { # -> "path kind mode [checksum]" lines, the package manager's own records excluded
		(cd "$upper" && find . -mindepth 1 \( -path ./var/lib/dpkg -o -path ./var/log -o -path ./var/cache/apt \
			-o -path ./var/lib/apt -o -path ./var/cache/debconf -o -path ./var/cache/man \
			-o -path ./var/cache/ldconfig -o -path ./etc/ld.so.cache -o -path ./root/pkgs -o -path ./tmp \
			-o -path ./var/lib/systemd/deb-systemd-helper-enabled -o -path ./var/lib/systemd/deb-systemd-helper-masked \
			-o -path ./var/lib/pam/seen \) -prune -o -printf '%p %y %m\n' | sort |
			while read -r p t m; do
				low=/${p#./}
				if [ -e "$low" ] || [ -L "$low" ]; then
					[ "$(stat -c %a "$low")" = "$m" ] && case $t in
					d) [ -d "$low" ] && [ ! -L "$low" ] ;;
					f) [ -f "$low" ] && [ ! -L "$low" ] && cmp -s "$p" "$low" ;;
					l) [ "$(readlink "$p")" = "$(readlink "$low")" ] ;;
					*) false ;;
					esac && continue
				fi
				if [ "$t" = f ]; then echo "$p $t $m $(md5sum <"$p" | cut -c1-32)"; else echo "$p $t $m"; fi
			done)
	}

	mkdir -p "$root/root/pkgs" && cp "$work"/debs/*.deb "$work"/jwks.json "$work"/*.jwt "$root/root/pkgs/" ||
		bail "cannot copy the packages into the root"
	# A local user with a password, to show that passwords keep working with the profile enabled.
	in_root useradd -m -s /bin/sh pjlocal && echo 'pjlocal:Local-pass-1' | in_root chpasswd
	ok $? "setup: a local user pjlocal with a password"
	cat >"$root/etc/pam_jwt.conf" <<CONF
# written by check-packages.sh, as an administrator would
[global]
nss_preauth = no
[issuer corp]
issuer = https://idp.example.com
audience = pam-hosts
algorithms = ES256
jwks_file = /etc/pam_jwt/corp.jwks
groups_claim = groups
CONF
	mkdir -p "$root/etc/pam_jwt" && cp "$work/jwks.json" "$root/etc/pam_jwt/corp.jwks" &&
		chmod 644 "$root/etc/pam_jwt.conf" "$root/etc/pam_jwt/corp.jwks"
	# a PAM service that is nothing but Debian's common stacks, as login and su use them
	printf '@include common-auth\n@include common-account\n@include common-session\n' >"$root/etc/pam.d/pj-check"
	cp "$root/etc/pam.d/common-auth" "$work/common-auth.orig"
	cp "$root/etc/pam.d/common-account" "$work/common-account.orig"
	cp "$root/etc/nsswitch.conf" "$work/nsswitch.conf.orig"
	before=$(snapshot)

	# 1. Install, exactly as README.md says.
	in_root sh -c 'cd /root/pkgs && apt-get install -y -q ./libpam-jwt_*.deb ./libnss-jwt_*.deb' \
		>"$work/install.log" 2>&1
	rc=$?
	[ $rc -eq 0 ] || sed 's/^/# /' "$work/install.log" | tail -20
	ok $rc "apt install ./libpam-jwt_*.deb ./libnss-jwt_*.deb"
	for f in /usr/share/man/man8/pam_jwt.8.gz /usr/share/man/man5/pam_jwt.conf.5.gz /usr/share/pam-configs/jwt \
		/lib/systemd/system/pam-jwt-refresh.timer /usr/lib/tmpfiles.d/pam_jwt.conf; do
		[ -e "$root$f" ]
		ok $? "installed: $f"
	done
	[ -d "$root/var/cache/pam_jwt" ] && [ -d "$root/var/lib/pam_jwt" ] &&
		[ "$(stat -c '%U %a' "$root/var/lib/pam_jwt")" = "root 755" ]
	ok $? "installed: /var/cache/pam_jwt and /var/lib/pam_jwt, root, 0755"
	[ -L "$root/etc/systemd/system/timers.target.wants/pam-jwt-refresh.timer" ]
	ok $? "pam-jwt-refresh.timer is enabled"
	unit=$root/lib/systemd/system/pam-jwt-refresh.service
	grep -q '^ExecStart=/usr/bin/pam-jwt jwks refresh' "$unit" && grep -qx 'ConditionPathExists=/etc/pam_jwt.conf' "$unit"
	ok $? "its service runs /usr/bin/pam-jwt and only once /etc/pam_jwt.conf exists"
	cmp -s "$root/etc/pam.d/common-auth" "$work/common-auth.orig"
	ok $? "installing changed no PAM stack (the profile is Default: no)"
	grep -Eq '^passwd:.*[[:space:]]jwt([[:space:]]|$)' "$root/etc/nsswitch.conf" &&
		grep -Eq '^group:.*[[:space:]]jwt([[:space:]]|$)' "$root/etc/nsswitch.conf"
	ok $? "libnss-jwt added jwt to the passwd and group lines of nsswitch.conf"
	in_root getent passwd pjlocal >/dev/null
	ok $? "with jwt in nsswitch.conf and no user store, local users still resolve"
	in_root pam-jwt check-config >"$work/check-config.log" 2>&1
	ok $? "pam-jwt check-config accepts the configuration"

	# 2. Enable the profile.
	in_root pam-auth-update --enable jwt >"$work/enable.log" 2>&1
	ok $? "pam-auth-update --enable jwt"
	first=$(grep -v '^#' "$root/etc/pam.d/common-auth" | grep -Em1 'pam_(jwt|unix)\.so')
	echo "$first" | grep -Eq '^auth[[:space:]]+\[success=2 default=ignore\][[:space:]]+pam_jwt\.so ignore_non_jwt[[:space:]]*$'
	ok $? "common-auth: pam_jwt.so ignore_non_jwt first, jumping over pam_unix on success ($first)"
	grep -Eq '^auth[[:space:]]+\[success=1 default=ignore\][[:space:]]+pam_unix\.so nullok try_first_pass' \
		"$root/etc/pam.d/common-auth"
	ok $? "common-auth: pam_unix.so after it, with try_first_pass"
	grep -Eq '^account[[:space:]]+\[success=2 new_authtok_reqd=done acct_expired=die default=ignore\][[:space:]]+pam_jwt\.so' \
		"$root/etc/pam.d/common-account"
	ok $? "common-account: pam_jwt.so ahead of pam_unix, refusing expired token users"
	grep -Eq '^session[[:space:]]+optional[[:space:]]+pam_jwt\.so' "$root/etc/pam.d/common-session"
	ok $? "common-session: pam_jwt.so optional"

	# 3. Use it: a token login, NSS, a password login, a refused token.
	in_root getent passwd alice >/dev/null
	[ $? -eq 2 ]
	ok $? "before her first login alice does not resolve"
	in_root pamtester pj-check alice authenticate acct_mgmt open_session close_session \
		>"$work/login.log" 2>&1 <"$work/alice.jwt"
	rc=$?
	[ $rc -eq 0 ] || sed 's/^/# /' "$work/login.log"
	ok $rc "pamtester: alice logs in with a token through common-auth, common-account and common-session"
	pw=$(in_root getent passwd alice)
	echo "$pw" | grep -Eq '^alice:\*:[0-9]+:[0-9]+:[^:]*:/home/alice:/bin/bash$'
	ok $? "NSS resolves alice from the user store ($pw)"
	in_root id -Gn alice | grep -qw devs
	ok $? "NSS gives alice her IdP group devs ($(in_root id -Gn alice 2>&1))"
	printf 'Local-pass-1\n' | in_root pamtester pj-check pjlocal authenticate acct_mgmt >"$work/pw.log" 2>&1
	rc=$?
	[ $rc -eq 0 ] || sed 's/^/# /' "$work/pw.log"
	ok $rc "pamtester: the local user still logs in with a password"
	printf 'wrong-pass\n' | in_root pamtester pj-check pjlocal authenticate >/dev/null 2>&1
	[ $? -ne 0 ]
	ok $? "pamtester: a wrong password is refused"
	in_root pamtester pj-check alice authenticate <"$work/other.jwt" >/dev/null 2>&1
	[ $? -ne 0 ]
	ok $? "pamtester: a token from another issuer key is refused"

	# 4. Disable, remove, purge.
	in_root pam-auth-update --disable jwt >"$work/disable.log" 2>&1
	ok $? "pam-auth-update --disable jwt"
	! grep -q pam_jwt "$root"/etc/pam.d/common-*
	ok $? "no common-* file names pam_jwt.so any more"
	cmp -s "$root/etc/pam.d/common-auth" "$work/common-auth.orig" &&
		cmp -s "$root/etc/pam.d/common-account" "$work/common-account.orig"
	ok $? "common-auth and common-account are as before"
	in_root pam-auth-update --enable jwt >/dev/null 2>&1
	in_root apt-get remove -y -q libpam-jwt libnss-jwt >"$work/remove.log" 2>&1
	ok $? "apt-get remove (with the profile enabled again)"
	! grep -q pam_jwt "$root"/etc/pam.d/common-*
	ok $? "removing the package took its lines out of common-* (prerm: pam-auth-update --package --remove jwt)"
	[ ! -e "$root/lib/x86_64-linux-gnu/security/pam_jwt.so" ] && ! ls "$root"/lib/*/security/pam_jwt.so >/dev/null 2>&1
	ok $? "pam_jwt.so is gone"
	cmp -s "$root/etc/nsswitch.conf" "$work/nsswitch.conf.orig"
	ok $? "nsswitch.conf is as before"
	in_root apt-get purge -y -q libpam-jwt libnss-jwt >"$work/purge.log" 2>&1
	ok $? "apt-get purge"
	! grep -qx jwt "$root/var/lib/pam/seen"
	ok $? "purge made pam-auth-update forget the profile"
	[ ! -e "$root/var/lib/pam_jwt" ] && [ ! -e "$root/var/cache/pam_jwt" ]
	ok $? "purge removed /var/lib/pam_jwt and /var/cache/pam_jwt"
	[ -z "$(in_root dpkg-query -W -f '${Status}' libpam-jwt libnss-jwt 2>/dev/null)" ]
	ok $? "dpkg knows neither package any more"
	after=$(snapshot)
	left=$(diff <(echo "$before") <(echo "$after") | grep '^[<>]')
	[ -z "$left" ]
	ok $? "nothing is left behind: the root is as it was before the install"
	[ -z "$left" ] || echo "$left" | sed 's/^/# /' | head -30
	finish
fi

# ---- outside: build, make a key and tokens, enter a private mount namespace ----
[ "$(id -u)" -eq 0 ] || bail "needs root (unshare, overlay mounts, chroot)"
for t in unshare chroot pamtester dpkg-buildpackage; do
	command -v "$t" >/dev/null 2>&1 || bail "$t not found"
done
[ -x "$JWT_MINT" ] || bail "$JWT_MINT not built (make check-packages builds it)"
work=$(mktemp -d /tmp/pam-jwt-pkgs.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
mkdir -p "$work/ovl" "$work/debs"
if [ -n "${1:-}" ]; then
	cp "$1"/libpam-jwt_*.deb "$1"/libnss-jwt_*.deb "$work/debs/" || bail "no packages in $1"
else
	echo "# building the packages (packaging/build-deb.sh)"
	"$top/packaging/build-deb.sh" "$work/debs" >"$work/build.log" 2>&1 || {
		tail -30 "$work/build.log" | sed 's/^/# /'
		bail "packaging/build-deb.sh failed"
	}
fi
# lintian on what was built: nothing beyond the two warnings every initial upload gets.
if [ -z "${1:-}" ] && command -v lintian >/dev/null 2>&1; then
	lintian --allow-root "$work"/debs/*.changes >"$work/lintian.log" 2>&1
	rest=$(grep -E '^[EW]: ' "$work/lintian.log" | grep -v ' initial-upload-closes-no-bugs ')
	[ -z "$rest" ]
	ok $? "lintian: no error or warning beyond initial-upload-closes-no-bugs"
	[ -z "$rest" ] || echo "$rest" | sed 's/^/# /'
fi
"$JWT_MINT" keygen ES256 "$work/k1.pem" && "$JWT_MINT" keygen ES256 "$work/k2.pem" &&
	"$JWT_MINT" jwks "$work/k1.pem:k1" >"$work/jwks.json" || bail "jwt-mint failed"
claims='"iss":"https://idp.example.com","aud":"pam-hosts","sub":"0f6c1c9e","exp":@now+600,"iat":@now'
"$JWT_MINT" sign ES256 "$work/k1.pem" k1 "{$claims,\"preferred_username\":\"alice\",\"groups\":[\"devs\"]}" \
	>"$work/alice.jwt" &&
	"$JWT_MINT" sign ES256 "$work/k2.pem" k1 "{$claims,\"preferred_username\":\"alice\"}" >"$work/other.jwt" ||
	bail "jwt-mint failed"
unshare -m --propagation private bash "$0" --inside "$work" "$n" "$failed"
