#!/bin/sh
# test_jwks_fetch.sh: key fetching against a real HTTPS server on 127.0.0.1 (tests/https_server.py) with a CA
# SPDX-License-Identifier: BSD-3-Clause
# and server certificates made here: the C scenarios (tests/jwks_net), then pam-jwt verify and pam-jwt jwks.
. "$(dirname "$0")/lib.sh"

need_root
PYTHON=${PYTHON:-/usr/bin/python3}
[ -x "$PYTHON" ] || skip_all "no $PYTHON"
command -v openssl >/dev/null 2>&1 || skip_all "no openssl CLI"
make_scratch

# serve DIR CERT: starts the server on DIR and waits for its port (at most 10 s).
serve() {
	mkdir -p "$1"
	"$PYTHON" "$TOP_SRCDIR/tests/https_server.py" --root "$1" --cert "$SCRATCH/$2.pem" \
		--key "$SCRATCH/$2.key" --timeout 600 &
	STOP_PIDS="${STOP_PIDS:-} $!"
	wait_file "$1/port"
}

make_test_ca ca && make_test_ca otherca && make_server_cert server ca IP:127.0.0.1 && make_server_cert wrongname ca DNS:wrong.example ||
	{ echo "Bail out! openssl could not make the certificates"; exit 1; }
serve "$SCRATCH/idp" server && serve "$SCRATCH/wrong" wrongname ||
	{ echo "Bail out! https_server.py did not start"; exit 1; }
mkdir -m 755 "$SCRATCH/cache"

NET_ROOT="$SCRATCH/idp" NET_PORT=$(cat "$SCRATCH/idp/port") NET_WRONG_ROOT="$SCRATCH/wrong" \
	NET_WRONG_PORT=$(cat "$SCRATCH/wrong/port") NET_CA="$SCRATCH/ca.pem" NET_OTHER_CA="$SCRATCH/otherca.pem" \
	NET_CACHE="$SCRATCH/cache" "$TOP_BUILDDIR/tests/jwks_net" >"$SCRATCH/net.tap" 2>&1
net_rc=$?
# renumber the C program's TAP lines into this script's plan
while IFS= read -r line; do
	case $line in
	"ok "*) ok 0 "${line#ok * - }" ;;
	"not ok "*) ok 1 "${line#not ok * - }" ;;
	"1.."*) ;;
	*) echo "$line" ;;
	esac
done <"$SCRATCH/net.tap"
[ $net_rc -eq 0 ] || diag "jwks_net exited $net_rc"

# --- pam-jwt verify against a discovery URL: one cold fetch, then a hundred logins without the network ---
PORT=$(cat "$SCRATCH/idp/port")
ISS="https://127.0.0.1:$PORT/cli"
"$JWT_MINT" keygen ES256 "$SCRATCH/cli.pem"
"$JWT_MINT" jwks "$SCRATCH/cli.pem:k1:ES256" >"$SCRATCH/idp/cli_jwks.json"
printf '{"issuer":"%s","jwks_uri":"https://127.0.0.1:@PORT@/cli/jwks.json"}' "$ISS" \
	>"$SCRATCH/idp/cli_.well-known_openid-configuration"
echo "Cache-Control: max-age=3600" >"$SCRATCH/idp/cli_jwks.json.headers"
mkdir -m 755 "$SCRATCH/clicache"
cat >"$SCRATCH/cli.conf" <<CONF
# pam_jwt test configuration: keys by OIDC discovery from the test IdP
[global]
cache_dir = $SCRATCH/clicache

[issuer cli]
issuer = $ISS
audience = pam
algorithms = ES256
tls_ca_file = $SCRATCH/ca.pem
CONF
chmod 644 "$SCRATCH/cli.conf"
count() { cat "$SCRATCH/idp/count/$1" 2>/dev/null || echo 0; }
tok=$("$JWT_MINT" sign ES256 "$SCRATCH/cli.pem" k1 \
	"{\"iss\":\"$ISS\",\"aud\":\"pam\",\"sub\":\"s1\",\"exp\":@now+600,\"iat\":@now,\"preferred_username\":\"alice\"}")

out=$(printf '%s' "$tok" | "$PAM_JWT" verify --config "$SCRATCH/cli.conf" --user alice 2>&1)
rc=$?
[ $rc -eq 0 ] && [ "$(count cli_.well-known_openid-configuration)" -eq 1 ] && [ "$(count cli_jwks.json)" -eq 1 ]
ok $? "cold pam-jwt verify: discovery and JWKS fetched once each, token accepted (exit $rc)"
[ -f "$SCRATCH/clicache/cli.json" ] && [ "$(stat -c %a:%u "$SCRATCH/clicache/cli.json")" = "644:0" ]
ok $? "cache file written root-owned 0644"
conns=$(count _connections)
fails=0
i=0
while [ $i -lt 100 ]; do
	printf '%s' "$tok" | "$PAM_JWT" verify --config "$SCRATCH/cli.conf" --user alice >/dev/null 2>&1 ||
		fails=$((fails + 1))
	i=$((i + 1))
done
[ $fails -eq 0 ]
ok $? "the next hundred pam-jwt verify accept ($fails failed)"
[ "$(count _connections)" -eq "$conns" ] && [ "$(count cli_jwks.json)" -eq 1 ]
ok $? "and make no network connection at all (connections $conns -> $(count _connections))"

# --- Cache-Control: no-store (Glewlwyd sends it): the keys are still kept for jwks_min_ttl (issue #11) ---
ISS_NS="https://127.0.0.1:$PORT/nostore"
"$JWT_MINT" jwks "$SCRATCH/cli.pem:k1:ES256" >"$SCRATCH/idp/nostore_jwks.json"
printf '{"issuer":"%s","jwks_uri":"https://127.0.0.1:@PORT@/nostore/jwks.json"}' "$ISS_NS" \
	>"$SCRATCH/idp/nostore_.well-known_openid-configuration"
echo "Cache-Control: no-store" >"$SCRATCH/idp/nostore_jwks.json.headers"
sed -e "s|^issuer = .*|issuer = $ISS_NS|" -e 's|^\[issuer cli\]|[issuer nostore]\njwks_min_ttl = 10m|' \
	"$SCRATCH/cli.conf" >"$SCRATCH/nostore.conf"
chmod 644 "$SCRATCH/nostore.conf"
tok_ns=$("$JWT_MINT" sign ES256 "$SCRATCH/cli.pem" k1 \
	"{\"iss\":\"$ISS_NS\",\"aud\":\"pam\",\"sub\":\"s1\",\"exp\":@now+600,\"preferred_username\":\"alice\"}")
fails=0
for i in 1 2 3; do
	printf '%s' "$tok_ns" | "$PAM_JWT" verify --config "$SCRATCH/nostore.conf" --user alice >/dev/null 2>&1 ||
		fails=$((fails + 1))
done
[ $fails -eq 0 ] && [ "$(count nostore_jwks.json)" -eq 1 ]
ok $? "no-store: three logins, one fetch: the keys are kept ($fails refused, $(count nostore_jwks.json) fetches)"
out=$("$PAM_JWT" jwks status --config "$SCRATCH/nostore.conf" 2>&1)
fresh=$(echo "$out" | sed -n 's/^  fresh until: .*(in \([0-9]*\) s)$/\1/p')
[ -n "$fresh" ] && [ "$fresh" -gt 500 ] && [ "$fresh" -le 600 ]
ok $? "no-store: fresh for jwks_min_ttl (10m), not 0 ($fresh s left)"

# --- pam-jwt jwks status / refresh ---
if "$PAM_JWT" jwks status --config "$SCRATCH/cli.conf" >/dev/null 2>&1 ||
	"$PAM_JWT" jwks 2>&1 | grep -q 'status'; then
	out=$("$PAM_JWT" jwks status --config "$SCRATCH/cli.conf" 2>&1)
	rc=$?
	[ $rc -eq 0 ] && echo "$out" | grep -q "source: discovery:$ISS" &&
		echo "$out" | grep -q 'kid=k1 kty=EC alg=ES256 size=256 usable' &&
		echo "$out" | grep -q 'fresh until: ' && echo "$out" | grep -q 'last error: none'
	ok $? "pam-jwt jwks status: source, keys, times, no error (exit $rc)"
	"$PAM_JWT" jwks refresh --config "$SCRATCH/cli.conf" --issuer cli >/dev/null 2>&1
	rc=$?
	[ $rc -eq 0 ] && [ "$(count cli_jwks.json)" -eq 2 ]
	ok $? "pam-jwt jwks refresh: forces one fetch despite a fresh cache (exit $rc)"
	# --expiring (the timer's): a fetch only when the keys are fresh for less than that much longer.
	out=$("$PAM_JWT" jwks refresh --config "$SCRATCH/cli.conf" --expiring 600 2>&1)
	rc=$?
	[ $rc -eq 0 ] && [ "$(count cli_jwks.json)" -eq 2 ] && echo "$out" | grep -q '^issuer cli: fresh until .*, not due$'
	ok $? "pam-jwt jwks refresh --expiring 600: keys fresh for an hour are not fetched (exit $rc)"
	"$PAM_JWT" jwks refresh --config "$SCRATCH/cli.conf" --expiring 7200 >/dev/null 2>&1
	rc=$?
	[ $rc -eq 0 ] && [ "$(count cli_jwks.json)" -eq 3 ]
	ok $? "pam-jwt jwks refresh --expiring 7200: keys fresh for less than that are fetched (exit $rc)"
	"$PAM_JWT" jwks refresh --config "$SCRATCH/cli.conf" --expiring 1x >/dev/null 2>&1
	[ $? -eq 2 ]
	ok $? "pam-jwt jwks refresh --expiring with a bad number: usage error"
	# the cache file is what a refresh is for (pam-jwt-refresh.service): one it cannot use or write fails it
	chmod 0775 "$SCRATCH/clicache"
	out=$("$PAM_JWT" jwks refresh --config "$SCRATCH/cli.conf" 2>&1)
	rc=$?
	chmod 0755 "$SCRATCH/clicache"
	[ $rc -ne 0 ] && echo "$out" | grep -q 'refresh failed: issuer cli: cache not usable: .*writable'
	ok $? "pam-jwt jwks refresh: a group-writable cache directory fails the refresh, saying so (exit $rc)"
	echo 500 >"$SCRATCH/idp/cli_jwks.json.status"
	out=$("$PAM_JWT" jwks refresh --config "$SCRATCH/cli.conf" 2>&1)
	rc=$?
	[ $rc -ne 0 ] && echo "$out" | grep -q 'HTTP status 500'
	ok $? "pam-jwt jwks refresh: a failed fetch exits non-zero with the reason (exit $rc)"
	out=$("$PAM_JWT" jwks status --config "$SCRATCH/cli.conf" 2>&1)
	rc=$?
	[ $rc -eq 0 ] && echo "$out" | grep -q 'last error: .*HTTP status 500' && echo "$out" | grep -q 'kid=k1'
	ok $? "pam-jwt jwks status: the last good keys and the last error (exit $rc)"
	"$PAM_JWT" jwks status --config "$SCRATCH/cli.conf" --issuer nosuch >/dev/null 2>&1
	[ $? -ne 0 ]
	ok $? "pam-jwt jwks status --issuer of an unknown issuer fails"
	rm -f "$SCRATCH/clicache/cli.json"
	"$PAM_JWT" jwks status --config "$SCRATCH/cli.conf" >/dev/null 2>&1
	[ $? -ne 0 ]
	ok $? "pam-jwt jwks status without any cached keys fails"
	# As pam-jwt-refresh.service runs it: root without any capability (CapabilityBoundingSet=), no new
	# privileges, the whole file system read-only but the cache directory (ProtectSystem=strict,
	# ReadWritePaths=).
	rm -f "$SCRATCH/idp/cli_jwks.json.status"
	# shellcheck disable=SC2046
	set -- $(sed -n 's|^ExecStart=@bindir@/pam-jwt ||p' "$TOP_SRCDIR/conf/systemd/pam-jwt-refresh.service.in")
	[ "$1 $2" = "jwks refresh" ]
	ok $? "pam-jwt-refresh.service runs pam-jwt jwks refresh ($*)"
	if command -v setpriv >/dev/null 2>&1; then
		out=$(unshare -m sh -c 'dir=$1 && shift && mount --make-rprivate / && mount --bind "$dir" "$dir" &&
			mount -o remount,bind,ro / &&
			exec setpriv --bounding-set -all --inh-caps -all --ambient-caps -all --no-new-privs \
				sh -c "grep ^CapEff: /proc/self/status; exec \"\$@\"" sh "$@"' \
			sh "$SCRATCH/clicache" "$PAM_JWT" "$@" --config "$SCRATCH/cli.conf" 2>&1)
		rc=$?
		[ $rc -eq 0 ] && echo "$out" | grep -q '^CapEff:[[:space:]]*0*$' && [ -s "$SCRATCH/clicache/cli.json" ] &&
			[ "$(stat -c %u "$SCRATCH/clicache/cli.json")" = 0 ]
		ok $? "pam-jwt $* as pam-jwt-refresh.service runs it (no capabilities, read-only /) fills the cache (exit $rc)"
		[ $rc -eq 0 ] || echo "$out" | sed 's/^/# /'
	fi
else
	diag "pam-jwt has no jwks subcommand yet"
fi

# --- a setuid program (sudo, su) fetching keys for an unprivileged user, with that user's environment ---
# libcurl appends every TLS secret to the file SSLKEYLOGFILE names, as the effective user: as root, any file.
# A root-owned setuid copy of pam-jwt, run by nobody, stands for sudo running pam_jwt.so.
rm -f "$SCRATCH/idp/cli_jwks.json.status" "$SCRATCH/clicache/cli.json"
mkdir -m 755 "$SCRATCH/suid" && cp "$PAM_JWT" "$SCRATCH/suid/pam-jwt" && chmod 4755 "$SCRATCH/suid/pam-jwt"
if command -v setpriv >/dev/null 2>&1 && ! findmnt -no OPTIONS -T "$SCRATCH" | grep -qw nosuid; then
	SSLKEYLOGFILE="$SCRATCH/keylog.root" "$PAM_JWT" jwks refresh --config "$SCRATCH/cli.conf" >/dev/null 2>&1
	[ -s "$SCRATCH/keylog.root" ]
	ok $? "control: root running pam-jwt with SSLKEYLOGFILE of its own gets its key log (libcurl reads it)"
	before=$(count cli_jwks.json)
	setpriv --reuid=65534 --regid=65534 --clear-groups env -i PATH=/usr/bin:/bin $SAN_ENV \
		SSLKEYLOGFILE="$SCRATCH/keylog.user" "$SCRATCH/suid/pam-jwt" jwks refresh --config "$SCRATCH/cli.conf" \
		>"$SCRATCH/suid.out" 2>&1
	rc=$?
	[ $rc -eq 0 ] && [ "$(count cli_jwks.json)" -gt "$before" ]
	ok $? "setuid: nobody's run fetched the keys as root (exit $rc)"
	[ ! -e "$SCRATCH/keylog.user" ]
	ok $? "setuid: the invoking user's SSLKEYLOGFILE is not opened (no root-owned file, no TLS secrets)"
else
	diag "no setpriv, or $SCRATCH is mounted nosuid: the setuid case is skipped"
fi

done_testing
