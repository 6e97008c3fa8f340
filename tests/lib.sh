# lib.sh: shared helpers for the shell tests: TAP output, paths, a scratch directory, token minting.
# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=sh

: "${TOP_BUILDDIR:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${TOP_SRCDIR:=$TOP_BUILDDIR}"
PAM_JWT="$TOP_BUILDDIR/pam-jwt"
JWT_MINT="$TOP_BUILDDIR/tests/jwt-mint"
PAM_MODULE="$TOP_BUILDDIR/.libs/pam_jwt.so"

# Sanitizer build (configure --enable-sanitizers, build-asan/ in tests/ci.sh): pamtester, getent, id, sshd
# and ssh are not built with ASan but load our modules, so its runtime must come first: it is preloaded into
# every process a shell test starts (svc_lib.sh also lists it in /etc/ld.so.preload inside its namespace,
# for setuid sudo and su, which ignore LD_PRELOAD). Their own leaks are not ours: leak checking is off in
# the shell tests; the C tests (test_pam runs pam_jwt.so in-process) keep it on.
if [ -n "${PJ_SAN_PRELOAD:-}" ]; then
	# libcrypt too: ASan's crypt_r interceptor binds the real one when it starts, and pam_unix, which
	# libpam loads later, would otherwise call through a NULL pointer
	PJ_SAN_PRELOAD="$PJ_SAN_PRELOAD libcrypt.so.1"
	LD_PRELOAD=$PJ_SAN_PRELOAD
	ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	export LD_PRELOAD ASAN_OPTIONS UBSAN_OPTIONS
fi
# SAN_ENV: the sanitizer options again, for commands started with env -i (empty outside a sanitizer build).
SAN_ENV=${PJ_SAN_PRELOAD:+ASAN_OPTIONS=$ASAN_OPTIONS UBSAN_OPTIONS=$UBSAN_OPTIONS}
# no_san COMMAND...: COMMAND without the preloaded runtime: for programs that load none of our code and
# link libsystemd, whose constructor deadlocks with ASan preloaded (zbarimg through ImageMagick).
no_san() {
	env -u LD_PRELOAD "$@"
}
# needed_libs FILE: the NEEDED entries of an ELF file, one a line, without the sanitizer runtimes.
needed_libs() {
	readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | grep -vE '^lib(asan|ubsan)\.so'
}
# san_skip_all REASON: skips the whole test in a sanitizer build, saying why.
san_skip_all() {
	[ -z "${PJ_SAN_PRELOAD:-}" ] || skip_all "sanitizer build: $*"
}

tap_n=0
tap_failed=0

# ok STATUS DESCRIPTION: STATUS 0 passes.
ok() {
	tap_n=$((tap_n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $tap_n - $2"
	else
		echo "not ok $tap_n - $2"
		tap_failed=$((tap_failed + 1))
	fi
}

# check DESCRIPTION COMMAND...: passes when the command succeeds.
check() {
	desc=$1
	shift
	if "$@" >/dev/null 2>&1; then ok 0 "$desc"; else ok 1 "$desc"; fi
}

diag() { echo "# $*"; }

# is DESCRIPTION GOT WANT: passes when GOT is WANT, else says both.
is() {
	if [ "$2" = "$3" ]; then ok 0 "$1"; else ok 1 "$1"; diag "got:  $2"; diag "want: $3"; fi
}

# wait_file FILE [SECONDS]: waits until FILE is not empty, at most SECONDS (default 10); fails if it stays empty.
wait_file() {
	timeout "${2:-10}" sh -c "until [ -s '$1' ]; do sleep 0.05; done"
}

skip_all() {
	echo "1..0 # SKIP $*"
	exit 0
}

done_testing() {
	echo "1..$tap_n"
	[ "$tap_n" -gt 0 ] || { echo "# no test ran"; exit 1; }
	[ "$tap_failed" -eq 0 ]
}

# need_pamtester: skips unless pamtester is installed (configure's PAMTESTER, else from PATH); sets PAMTESTER.
need_pamtester() {
	[ -n "${PAMTESTER:-}" ] && [ -x "$PAMTESTER" ] || PAMTESTER=$(command -v pamtester) ||
		skip_all "pamtester not installed"
}

need_root() {
	[ "$(id -u)" -eq 0 ] || skip_all "needs root (trust checks want root-owned files; namespaces)"
}

# A scratch directory, removed at exit (kept when KEEP is set, for a look afterwards), after the servers the
# test started (their pids in STOP_PIDS) are stopped.
make_scratch() {
	SCRATCH=$(mktemp -d /tmp/pam_jwt_test.XXXXXX)
	chmod 755 "$SCRATCH"
	trap 'stop_pids; [ -n "${KEEP:-}" ] || rm -rf "$SCRATCH"' EXIT
}

# stop_pids: stops the processes in STOP_PIDS (the EXIT traps run it).
stop_pids() {
	for p in ${STOP_PIDS:-}; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
}

ALL_ALGS="RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA"

# make_issuer DIR ISS: one key per algorithm (kid = alg name), DIR/jwks.json, DIR/pam_jwt.conf for ISS.
make_issuer() {
	dir=$1
	iss=$2
	specs=""
	for alg in $ALL_ALGS; do
		"$JWT_MINT" keygen "$alg" "$dir/$alg.pem" || return 1
		specs="$specs $dir/$alg.pem:$alg"
	done
	# shellcheck disable=SC2086
	"$JWT_MINT" jwks $specs >"$dir/jwks.json" || return 1
	chmod 644 "$dir/jwks.json"
	cat >"$dir/pam_jwt.conf" <<CONF
# pam_jwt test configuration
[global]
cache_dir = $dir
state_dir = $dir
[issuer test]
issuer = $iss
audience = pam
algorithms = $ALL_ALGS
jwks_file = $dir/jwks.json
groups_claim = groups
CONF
	chmod 644 "$dir/pam_jwt.conf"
}

# mint DIR ALG ISS USER [EXP_DELTA]: a token signed with DIR/ALG.pem.
mint() {
	delta=${5:-300}
	case $delta in -*) exp="@now$delta" ;; *) exp="@now+$delta" ;; esac
	"$JWT_MINT" sign "$2" "$1/$2.pem" "$2" \
		"{\"iss\":\"$3\",\"aud\":\"pam\",\"sub\":\"sub-$4\",\"exp\":$exp,\"iat\":@now,\"preferred_username\":\"$4\",\"groups\":[\"devs\"]}"
}

# make_test_ca NAME: a self-signed test CA in $SCRATCH/NAME.pem, its key NAME.key.
make_test_ca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=pam_jwt test $1" \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
		-keyout "$SCRATCH/$1.key" -out "$SCRATCH/$1.pem" 2>/dev/null
}

# make_server_cert NAME CA SAN: a server certificate $SCRATCH/NAME.pem (key NAME.key) for SAN, signed by CA.
make_server_cert() {
	printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' "$3" >"$SCRATCH/$1.ext"
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$1" \
		-keyout "$SCRATCH/$1.key" -out "$SCRATCH/$1.csr" 2>/dev/null &&
		openssl x509 -req -in "$SCRATCH/$1.csr" -CA "$SCRATCH/$2.pem" -CAkey "$SCRATCH/$2.key" \
			-CAcreateserial -days 2 -extfile "$SCRATCH/$1.ext" -out "$SCRATCH/$1.pem" 2>/dev/null
}

# start_idp CONFIG_JSON [SECONDS]: the test OpenID Provider (oidc_device_server.py) over HTTPS on 127.0.0.1,
# with a test CA ($SCRATCH/ca.pem), its signing key $SCRATCH/idp.pem (kid k1, in $IDP/jwks.json) and a key
# not in its JWKS ($SCRATCH/bad.pem); CONFIG_JSON goes to $IDP/config.json, its output to $SCRATCH/idp.log.
# Sets IDP, IDP_PID and DISS (its issuer URL); the server is stopped at exit (STOP_PIDS) and stops by itself
# after SECONDS (default 600).
start_idp() {
	IDP="$SCRATCH/idp"
	mkdir -m 755 "$IDP"
	make_test_ca ca && make_server_cert server ca IP:127.0.0.1 &&
		"$JWT_MINT" keygen ES256 "$SCRATCH/idp.pem" && "$JWT_MINT" keygen ES256 "$SCRATCH/bad.pem" &&
		"$JWT_MINT" jwks "$SCRATCH/idp.pem:k1:ES256" >"$IDP/jwks.json" ||
		{ echo "Bail out! cannot make certificates and keys"; exit 1; }
	chmod 644 "$IDP/jwks.json"
	echo "$1" >"$IDP/config.json"
	"${PYTHON:-python3}" "$TOP_SRCDIR/tests/oidc_device_server.py" --root "$IDP" --cert "$SCRATCH/server.pem" \
		--tls-key "$SCRATCH/server.key" --mint "$JWT_MINT" --key "$SCRATCH/idp.pem" \
		--bad-key "$SCRATCH/bad.pem" --timeout "${2:-600}" >"$SCRATCH/idp.log" 2>&1 &
	IDP_PID=$!
	STOP_PIDS="${STOP_PIDS:-} $IDP_PID"
	wait_file "$IDP/port" || { echo "Bail out! oidc_device_server.py did not start"; exit 1; }
	DISS="https://127.0.0.1:$(cat "$IDP/port")"
}

# idp_person FILE ACTION LOGIN: waits (at most 120 s) for the device flow's instructions in FILE, opens the URL
# shown there (the last one) as LOGIN and takes ACTION at the test IdP (approve, deny, badkey: start_idp), as the
# person at the browser would.
idp_person() {
	timeout 120 sh -c "until grep -q 'enter the code' '$1' 2>/dev/null; do sleep 0.05; done" ||
		{ diag "no instructions in $1"; return 1; }
	code=$(sed -n 's/.*and enter the code \(.*\)$/\1/p' "$1" | tail -1)
	url=$(sed -n 's/.*To sign in, open \(.*\)$/\1/p' "$1" | tail -1)
	"${PYTHON:-python3}" - "$url?user_code=$code&login=$3&action=$2" "$SCRATCH/ca.pem" <<'EOF'
import ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[2])
urllib.request.urlopen(sys.argv[1], context=ctx, timeout=10).read()
EOF
}

# closed_port: sets CLOSED_PORT to a loopback TCP port where nothing listens and nothing else can (a socket
# bound to it but never listening, held by a helper that exits with this shell): a stand-in for an IdP
# that is down, instead of a fixed port some host may serve.
closed_port() {
	: >"$SCRATCH/closed_port"
	python3 -c '
import os, socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
parent = os.getppid()
open(sys.argv[1], "w").write("%d\n" % s.getsockname()[1])
while os.getppid() == parent:
    time.sleep(1)' "$SCRATCH/closed_port" </dev/null >/dev/null 2>&1 &
	wait_file "$SCRATCH/closed_port" ||
		{ echo "Bail out! closed_port: the helper did not start"; exit 1; }
	CLOSED_PORT=$(cat "$SCRATCH/closed_port")
}

# sshd_getent ARGS: getent under the process name sshd, which nss_preauth answers (by /proc/self/comm) as
# it answers sshd.
sshd_getent() {
	[ -x "$SCRATCH/as-sshd/sshd" ] || { mkdir -p "$SCRATCH/as-sshd" && cp "$(command -v getent)" "$SCRATCH/as-sshd/sshd"; }
	"$SCRATCH/as-sshd/sshd" "$@"
}

# memcheck COMMAND...: COMMAND under valgrind memcheck, which exits 99 on a memory error or a definitely or
# indirectly lost block (VALGRIND from configure, else from PATH).
memcheck() {
	"${VALGRIND:-valgrind}" -q --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99 "$@"
}
# memcheck_usable: whether memcheck can run here (valgrind installed, not a sanitizer build).
memcheck_usable() {
	[ -z "${PJ_SAN_PRELOAD:-}" ] && { [ -n "${VALGRIND:-}" ] || VALGRIND=$(command -v valgrind); }
}
