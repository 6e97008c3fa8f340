# svc_lib.sh: a private world for tests of real services (sshd, sudo, su): run inside a mount namespace.
# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=sh
#
# svc_enter re-runs the test in its own mount namespace, where:
#   - tmpfs over /var/lib (the user store /var/lib/pam_jwt, compiled into libnss_jwt.so.2), /run
#     (/run/sshd, sudo's timestamps) and /home (homes made by pam_mkhomedir);
#   - a copy of the host's /etc/pam.d, with conf/pam.d/* (pam_jwt.so -> the built module, with the test
#     configuration) installed over it, bound over /etc/pam.d;
#   - conf/nsswitch.conf's lines bound over /etc/nsswitch.conf, and the built libnss_jwt.so.2 found
#     through an ld.so.cache of our own bound over /etc/ld.so.cache (setuid sudo ignores LD_LIBRARY_PATH);
#   - a test sudoers bound over /etc/sudoers.
# The host's files are never changed: everything goes away with the namespace.

NSS_SO="$TOP_BUILDDIR/.libs/libnss_jwt.so.2"
ASKPASS="$TOP_BUILDDIR/pam-jwt-askpass"
CONF_DIR="$TOP_SRCDIR/conf"
ISS=https://idp.example.com

# svc_enter "$0" "$@": skips unless root with mount namespaces; re-executes the script in a namespace.
svc_enter() {
	need_root
	if [ "${PJ_SVC_IN_NAMESPACE:-}" != 1 ]; then
		command -v unshare >/dev/null 2>&1 || skip_all "no unshare"
		unshare -m true 2>/dev/null || skip_all "cannot create a mount namespace here"
		script=$1
		shift
		PJ_SVC_IN_NAMESPACE=1 exec unshare -m --propagation private sh "$script" "$@"
	fi
	[ -e "$PAM_MODULE" ] || skip_all "pam_jwt.so is not built"
	[ -e "$NSS_SO" ] || skip_all "libnss_jwt.so.2 is not built"
	[ -x "$ASKPASS" ] || skip_all "pam-jwt-askpass is not built"
}

# svc_install_pamd FILE...: conf/pam.d/FILE into the test pam.d, pam_jwt.so -> the built module.
svc_install_pamd() {
	for f in "$@"; do
		sed "s|pam_jwt\.so|$PAM_MODULE config=$SCRATCH/pam_jwt.conf|" "$CONF_DIR/pam.d/$f" \
			>"$SCRATCH/pam.d/$f" || return 1
	done
}

# svc_setup: the namespace's file system, keys, configuration and an empty user store with nss_preauth;
# SVC_GLOBAL, when set, adds lines to the configuration's [global] section.
svc_setup() {
	make_scratch
	trap svc_cleanup EXIT
	for d in /var/lib /run /home; do
		mount -t tmpfs -o mode=0755 pj-test "$d" || skip_all "cannot mount a tmpfs over $d"
	done
	mkdir -m 0755 /run/sshd /var/lib/pam_jwt "$SCRATCH/lib" "$SCRATCH/cache" "$SCRATCH/bin"
	svc_san_preload
	# Token users run pam-jwt-askpass: a copy in the world-readable SCRATCH, since they may not reach the
	# build tree (a clone under /root, mode 0700).
	cp "$ASKPASS" "$SCRATCH/bin/pam-jwt-askpass" && chmod 0755 "$SCRATCH/bin/pam-jwt-askpass" &&
		ASKPASS="$SCRATCH/bin/pam-jwt-askpass" || { echo "Bail out! cannot copy pam-jwt-askpass"; exit 1; }
	# The module too: PAM callers that are not root (pamtester as nobody) load it, and may not reach the
	# build tree either.
	cp -L "$PAM_MODULE" "$SCRATCH/lib/pam_jwt.so" && chmod 0644 "$SCRATCH/lib/pam_jwt.so" &&
		PAM_MODULE="$SCRATCH/lib/pam_jwt.so" || { echo "Bail out! cannot copy pam_jwt.so"; exit 1; }
	# the NSS module, through an ld.so.cache that also knows our directory
	cp -L "$NSS_SO" "$SCRATCH/lib/libnss_jwt.so.2"
	{
		echo "$SCRATCH/lib"
		echo "include /etc/ld.so.conf.d/*.conf"
	} >"$SCRATCH/ld.so.conf"
	ldconfig -X -C "$SCRATCH/ld.so.cache" -f "$SCRATCH/ld.so.conf" || skip_all "ldconfig cannot build a cache"
	mount --bind "$SCRATCH/ld.so.cache" /etc/ld.so.cache || skip_all "cannot bind ld.so.cache"
	grep -v '^#' "$CONF_DIR/nsswitch.conf" >"$SCRATCH/nsswitch.conf"
	grep -vE '^(#|passwd|group|shadow|gshadow)' /etc/nsswitch.conf >>"$SCRATCH/nsswitch.conf"
	mount --bind "$SCRATCH/nsswitch.conf" /etc/nsswitch.conf || skip_all "cannot bind nsswitch.conf"
	# pam.d: the host's, with ours over it
	cp -a /etc/pam.d "$SCRATCH/pam.d"
	mount --bind "$SCRATCH/pam.d" /etc/pam.d || skip_all "cannot bind /etc/pam.d"
	# pam_systemd links libsystemd, which deadlocks in its constructor with the ASan runtime preloaded: a
	# sanitizer build leaves it out of the namespace's sessions (it only registers them with logind).
	[ -z "${PJ_SAN_PRELOAD:-}" ] || sed -i '/pam_systemd\.so/d' "$SCRATCH"/pam.d/*
	# keys and configuration
	"$JWT_MINT" keygen ES256 "$SCRATCH/ES256.pem" && "$JWT_MINT" keygen ES256 "$SCRATCH/other.pem" &&
		"$JWT_MINT" jwks "$SCRATCH/ES256.pem:ES256" >"$SCRATCH/jwks.json" ||
		{ echo "Bail out! cannot make keys"; exit 1; }
	chmod 644 "$SCRATCH/jwks.json"
	cat >"$SCRATCH/pam_jwt.conf" <<EOF
[global]
state_dir = /var/lib/pam_jwt
cache_dir = $SCRATCH/cache
nss_preauth = yes
${SVC_GLOBAL:-}
[issuer test]
issuer = $ISS
audience = pam
algorithms = ES256
jwks_file = $SCRATCH/jwks.json
groups_claim = groups
groups_allow = devs admins ops
group_map = admins:sudo
[service sshd]
require_groups = devs admins
[service sudo]
require_groups = admins ops
[service su]
require_groups = admins
EOF
	chmod 644 "$SCRATCH/pam_jwt.conf"
	"$PAM_JWT" user init --config "$SCRATCH/pam_jwt.conf" >/dev/null ||
		{ echo "Bail out! pam-jwt user init failed"; exit 1; }
}

# svc_san_preload: in a sanitizer build (lib.sh), the ASan runtime goes into /etc/ld.so.preload, which
# ld.so honours for setuid programs too (sudo, su): /etc becomes an overlay whose upper layer is on the
# namespace's /run tmpfs (the host's /etc is never written).
svc_san_preload() {
	[ -n "${PJ_SAN_PRELOAD:-}" ] || return 0
	mkdir -m 0755 /run/pj-etc /run/pj-etc/up /run/pj-etc/work &&
		mount -t overlay pj-etc -o lowerdir=/etc,upperdir=/run/pj-etc/up,workdir=/run/pj-etc/work /etc ||
		skip_all "sanitizer build: cannot lay an overlay over /etc for ld.so.preload"
	printf '%s\n' $PJ_SAN_PRELOAD >>/etc/ld.so.preload
}

# svc_syslog: what the modules send to syslog goes to $SCRATCH/syslog. glibc writes to /dev/log, which this
# host may not have: /dev becomes a tmpfs holding the host's device nodes (bound) and our own /dev/log
# socket, served by a small listener that is stopped at exit (svc_cleanup).
svc_syslog() {
	# The host's /dev is reached through a bind that is detached again at once: nothing under SCRATCH
	# may lead to it when SCRATCH is removed (svc_cleanup also stays on one file system).
	mkdir "$SCRATCH/dev.host"
	mount --rbind /dev "$SCRATCH/dev.host" || skip_all "cannot bind /dev"
	mount --make-rslave "$SCRATCH/dev.host"
	if mount -t tmpfs -o mode=0755 pj-dev /dev; then
		for e in "$SCRATCH"/dev.host/*; do
			n=${e##*/}
			if [ -L "$e" ]; then
				cp -P "$e" "/dev/$n"
			elif [ -d "$e" ]; then
				mkdir "/dev/$n" && mount --rbind "$e" "/dev/$n"
			else
				: >"/dev/$n" && mount --bind "$e" "/dev/$n"
			fi
		done
	fi
	umount -l "$SCRATCH/dev.host"
	rmdir "$SCRATCH/dev.host"
	[ -c /dev/null ] && [ ! -e /dev/log ] || skip_all "cannot make a /dev of our own"
	: >"$SCRATCH/syslog"
	python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log")
os.chmod("/dev/log", 0o666)
out = open(sys.argv[1], "ab", buffering=0)
os.write(1, b"ready\n")
while True:
    out.write(s.recv(65536).rstrip(b"\0\n") + b"\n")' "$SCRATCH/syslog" >"$SCRATCH/syslog.ready" &
	SYSLOG_PID=$!
	wait_file "$SCRATCH/syslog.ready" ||
		{ echo "Bail out! the syslog listener did not start"; exit 1; }
}

# svc_cleanup (the EXIT trap): stops what the test started (STOP_PIDS, the syslog listener) and removes
# SCRATCH without leaving its file system.
svc_cleanup() {
	STOP_PIDS="${STOP_PIDS:-} ${SYSLOG_PID:-}" stop_pids
	umount -l "$SCRATCH/dev.host" 2>/dev/null
	# PJ_TEST_LOG=FILE keeps the syslog and the servers' output for a look afterwards.
	[ -z "${PJ_TEST_LOG:-}" ] || cat "$SCRATCH"/syslog "$SCRATCH"/*.log >"$PJ_TEST_LOG" 2>/dev/null
	rm -rf --one-file-system "$SCRATCH"
}

# log_sync: waits until the listener has written everything sent to /dev/log so far (the socket keeps
# order: once our own marker is in the file, so is every message before it).
log_sync() {
	LOG_SYNC=$((${LOG_SYNC:-0} + 1))
	# (not logger(1): it links libsystemd, which deadlocks with the ASan runtime preloaded in a sanitizer build)
	python3 -c 'import socket, sys
socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b"<13>pj-test: sync " + sys.argv[1].encode(), "/dev/log")' \
		"$LOG_SYNC"
	timeout 10 sh -c "until grep -q 'pj-test: sync $LOG_SYNC\$' '$SCRATCH/syslog'; do sleep 0.05; done" ||
		diag "the syslog listener did not catch up"
}
# log_mark; ...; logged TEXT: whether the syslog since the mark holds TEXT (a fixed string).
log_mark() {
	log_sync
	LOG_MARK=$(wc -l <"$SCRATCH/syslog")
}
logged() {
	log_sync
	tail -n +"$((${LOG_MARK:-0} + 1))" "$SCRATCH/syslog" | grep -qF -- "$1"
}

# svc_token USER GROUPS_JSON [EXP_DELTA [SIZE [KEY]]]: an ES256 token for USER (sub "sub-USER"), about
# SIZE bytes long (padded with a claim) when SIZE is given.
svc_token() {
	user=$1 groups=$2 delta=${3:-300} size=${4:-0} key=${5:-$SCRATCH/ES256.pem}
	case $delta in -*) exp="@now$delta" ;; *) exp="@now+$delta" ;; esac
	payload="{\"iss\":\"$ISS\",\"aud\":\"pam\",\"sub\":\"sub-$user\",\"exp\":$exp,\"iat\":@now,\"preferred_username\":\"$user\",\"groups\":$groups"
	base=$("$JWT_MINT" sign ES256 "$key" ES256 "$payload}" | wc -c)
	if [ "$size" -gt "$base" ]; then
		pad=$(((size - base) * 3 / 4))
		payload="$payload,\"pad\":\"$(head -c "$pad" /dev/zero | tr '\0' x)\""
	fi
	"$JWT_MINT" sign ES256 "$key" ES256 "$payload}"
}

# svc_token_file NAME TOKEN [OWNER_UID]: the token in $SCRATCH/NAME.token, mode 0600.
svc_token_file() {
	printf '%s\n' "$2" >"$SCRATCH/$1.token"
	chmod 600 "$SCRATCH/$1.token"
	[ -z "${3:-}" ] || chown "$3" "$SCRATCH/$1.token"
	echo "$SCRATCH/$1.token"
}

# svc_start_sshd: sshd -D with $SCRATCH/sshd_config on a free port of 127.0.0.1 (PORT; log in
# $SCRATCH/sshd.log), its pid added to STOP_PIDS for svc_cleanup. It is ready once it has written its PidFile,
# which sshd does after it listens: so the port answers for this sshd, not for a program that took the port
# between our look for a free one and sshd's bind (then another port is tried).
svc_start_sshd() {
	set --
	# a sanitizer build: the sessions' programs keep the sanitizer options (sshd starts them with a clean
	# environment, and the runtime is preloaded into them too)
	[ -z "${PJ_SAN_PRELOAD:-}" ] || set -- -o "SetEnv=ASAN_OPTIONS=$ASAN_OPTIONS UBSAN_OPTIONS=$UBSAN_OPTIONS"
	for try in 1 2 3; do
		PORT=$("${PYTHON:-python3}" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
		[ "$try" != 1 ] || [ -z "${PJ_TEST_BUSY_PORT:-}" ] || PORT=$PJ_TEST_BUSY_PORT
		rm -f "$SCRATCH/sshd.pid"
		"$SSHD" -D -e -f "$SCRATCH/sshd_config" -p "$PORT" "$@" 2>"$SCRATCH/sshd.log" &
		SSHD_PID=$!
		STOP_PIDS="${STOP_PIDS:-} $SSHD_PID"
		timeout 20 sh -c "until [ \"\$(cat '$SCRATCH/sshd.pid' 2>/dev/null)\" = $SSHD_PID ] ||
			grep -q 'Cannot bind any address' '$SCRATCH/sshd.log'; do sleep 0.05; done"
		[ "$(cat "$SCRATCH/sshd.pid" 2>/dev/null)" = "$SSHD_PID" ] && return 0
		diag "sshd did not start on port $PORT (try $try): $(cat "$SCRATCH/sshd.log")"
		grep -q 'Cannot bind any address' "$SCRATCH/sshd.log" || break
	done
	echo "Bail out! sshd did not start: $(cat "$SCRATCH/sshd.log")"
	exit 1
}

# svc_need_sshd: skips unless the OpenSSH client and server are installed; sets SSHD.
svc_need_sshd() {
	SSHD=/usr/sbin/sshd
	command -v ssh >/dev/null 2>&1 || skip_all "no OpenSSH client (apt-get install openssh-client)"
	[ -x "$SSHD" ] || skip_all "no OpenSSH server (apt-get install openssh-server)"
}

# svc_lands USER PRE_UID GROUPS: after a first login whose session printed "uid=.. gid=.. groups=.." as the
# first line of $SCRATCH/out: the uid is the pre-authentication one, and the session had the private group
# and GROUPS (sorted, space-separated, before the private group as sort puts them).
svc_lands() {
	uid=$(getent passwd "$1" | cut -d: -f3)
	is "the uid after the first login is the pre-authentication uid" "$uid" "$2"
	is "$1 lands with the mapped uid, the private group and $3" "$(sed -n 1p "$SCRATCH/out")" \
		"uid=$uid gid=$uid groups=$3 $1 "
}

# svc_generic: the PAM service pam-jwt-generic, nothing but common-auth and common-account, as any service that
# includes them (svc_install_pamd common-auth common-account first, for pam_jwt's lines in them).
svc_generic() {
	printf '@include common-auth\n@include common-account\n' >"$SCRATCH/pam.d/pam-jwt-generic"
}

# svc_generic_login USER TOKEN [OUT]: USER authenticates to pam-jwt-generic through pamtester, TOKEN typed at
# the prompt (need_pamtester); pamtester's output in OUT (default $SCRATCH/out).
svc_generic_login() {
	printf '%s\n' "$2" | timeout 30 "$PAMTESTER" pam-jwt-generic "$1" authenticate >"${3:-$SCRATCH/out}" 2>&1
}

# svc_session_env USER ISSUER GROUPS DESCRIPTION: the session that printed its environment to $SCRATCH/out
# had PAM_JWT_USER, _SUBJECT (sub-USER), _ISSUER, _GROUPS and _EXP from USER's token.
svc_session_env() {
	grep -q "^PAM_JWT_USER=$1$" "$SCRATCH/out" && grep -q "^PAM_JWT_SUBJECT=sub-$1$" "$SCRATCH/out" &&
		grep -q "^PAM_JWT_ISSUER=$2$" "$SCRATCH/out" && grep -q "^PAM_JWT_GROUPS=$3$" "$SCRATCH/out" &&
		grep -q "^PAM_JWT_EXP=[0-9]*$" "$SCRATCH/out"
	ok $? "$4"
}

# svc_sshd LINES: sshd on a free loopback port (PORT: svc_start_sshd), with its own host key and $SCRATCH/sshd_config made of
# the settings every test wants (loopback, no root, no StrictModes, no DNS, quiet, VERBOSE log) and LINES;
# checked with sshd -t, then started (svc_start_sshd).
svc_sshd() {
	ssh-keygen -q -t ed25519 -N '' -f "$SCRATCH/hostkey" || { echo "Bail out! ssh-keygen failed"; exit 1; }
	cat >"$SCRATCH/sshd_config" <<EOC
ListenAddress 127.0.0.1
HostKey $SCRATCH/hostkey
PidFile $SCRATCH/sshd.pid
PermitRootLogin no
StrictModes no
UseDNS no
PrintMotd no
PrintLastLog no
LogLevel VERBOSE
$1
EOC
	"$SSHD" -t -f "$SCRATCH/sshd_config" 2>"$SCRATCH/sshd-t.log" ||
		{ echo "Bail out! sshd -t: $(cat "$SCRATCH/sshd-t.log")"; exit 1; }
	svc_start_sshd
}
