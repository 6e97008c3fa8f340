#!/bin/sh
# test_soak.sh: the bounded soak (issue #12): many logins in 32 processes while the test IdP rotates keys
# SPDX-License-Identifier: BSD-3-Clause
# and goes down and up (tests/soak.c), then one long-lived PAM handle; every answer judged, the store checked.
# PJ_SOAK_LOGINS (default 50000, 20000 in the sanitizer build) and PJ_SOAK_LONG (default 8000) size it; loopback only. Leaks of the long
# handle are also LeakSanitizer's to find in the sanitizer build (the soak program is built with it).
. "$(dirname "$0")/lib.sh"

need_root
PYTHON=${PYTHON:-/usr/bin/python3}
[ -x "$PYTHON" ] || skip_all "no $PYTHON"
command -v openssl >/dev/null 2>&1 || skip_all "no openssl CLI"
# the sanitizer build runs about three times slower: a smaller soak there (the plain build runs the whole one)
LOGINS=${PJ_SOAK_LOGINS:-${PJ_SAN_PRELOAD:+20000}}
LOGINS=${LOGINS:-50000}
LONG=${PJ_SOAK_LONG:-8000}
WORKERS=32
USERS=2000
make_scratch
make_test_ca ca && make_server_cert server ca IP:127.0.0.1 || { echo "Bail out! openssl could not make certificates"; exit 1; }
mkdir -m 755 "$SCRATCH/idp" "$SCRATCH/pam.d"
# the IdP stops by itself after 30 minutes at the latest
"$PYTHON" "$TOP_SRCDIR/tests/https_server.py" --root "$SCRATCH/idp" --cert "$SCRATCH/server.pem" \
	--key "$SCRATCH/server.key" --timeout 1800 >"$SCRATCH/idp.log" 2>&1 &
STOP_PIDS="${STOP_PIDS:-} $!"
wait_file "$SCRATCH/idp/port" || { echo "Bail out! https_server.py did not start"; exit 1; }
PORT=$(cat "$SCRATCH/idp/port")
ISS=https://idp.soak.example
# service NAME: a configuration and a PAM service NAME of their own (key cache and user store): each part of
# the soak makes its own keys, so they must not meet the other part's cached keys under the same kid
service() {
	mkdir -m 755 "$SCRATCH/cache-$1" "$SCRATCH/state-$1"
	cat >"$SCRATCH/$1.conf" <<CONF
# pam_jwt soak configuration: keys from the test IdP, refreshed at most once a second on an unknown kid
[global]
cache_dir = $SCRATCH/cache-$1
state_dir = $SCRATCH/state-$1

[issuer soak]
issuer = $ISS
audience = pam
algorithms = ES256
jwks_uri = https://127.0.0.1:$PORT/soak/jwks.json
tls_ca_file = $SCRATCH/ca.pem
jwks_refresh_interval = 1
groups_claim = groups
CONF
	chmod 644 "$SCRATCH/$1.conf"
	printf 'auth required %s config=%s\naccount required %s config=%s\n' "$PAM_MODULE" "$SCRATCH/$1.conf" \
		"$PAM_MODULE" "$SCRATCH/$1.conf" >"$SCRATCH/pam.d/$1"
}
service many
service long
SOAK="$TOP_BUILDDIR/tests/soak"
# the soak program is ours: in the sanitizer build LeakSanitizer checks it (each worker and the long handle
# at exit), which lib.sh turns off for the programs of other projects
SOAK_ASAN=${ASAN_OPTIONS:+$ASAN_OPTIONS:detect_leaks=1}

# value FILE KEY...: the rest of the line "soak KEY... VALUE..." of FILE
value() {
	f=$1
	shift
	sed -n "s/^soak $* //p" "$f"
}

# ---- many processes, the IdP rotating and going down and up ----
ASAN_OPTIONS=$SOAK_ASAN "$SOAK" many "$SCRATCH/pam.d" many "$SCRATCH/idp" "$ISS" "$LOGINS" "$WORKERS" "$USERS" "$SCRATCH/accepted" \
	>"$SCRATCH/many.out" 2>"$SCRATCH/many.err"
rc=$?
sed 's/^/# /' "$SCRATCH/many.out"
grep -E 'WRONG|worker|phase' "$SCRATCH/many.err" | head -20 | sed 's/^/# /'
is "the soak ran to its end" "$rc" 0
is "$LOGINS logins in $WORKERS processes: no worker crashed" "$(value "$SCRATCH/many.out" crashed)" 0
is "every answer is the one its token must get (valid accepted in every phase, the IdP down included; the rest refused)" \
	"$(value "$SCRATCH/many.out" wrong)" 0
valid_want=$((LOGINS / 16 * 8 + (LOGINS % 16 > 8 ? 8 : LOGINS % 16)))
is "every valid token was accepted" "$(value "$SCRATCH/many.out" kind valid | cut -d' ' -f2)" "$valid_want"
refusals=0
for kind in expired forged unknown-kid audience malformed other-user; do
	set -- $(value "$SCRATCH/many.out" kind "$kind")
	[ "${2:-x}" = 0 ] && [ "${4:-0}" -gt 0 ] || refusals=$((refusals + 1))
done
is "expired, forged, unknown-kid, wrong-audience, malformed and another user's tokens: all refused, each seen" "$refusals" 0
is "after the outage and the rotation, a token of the newly published key k3 is accepted" \
	"$(value "$SCRATCH/many.out" final_k3)" accepted
fetches=$(cat "$SCRATCH/idp/count/soak_jwks.json" 2>/dev/null || echo 0)
# the first login's fetch saw {k1}; accepting k3 took a fetch after it was published
[ "$fetches" -ge 2 ]
ok $? "the module fetched the rotating JWKS again on unknown kids ($fetches requests, 503s included)"

# every user with an accepted login is in the user store, which a fault-free reader opens whole
"$PAM_JWT" user list --config "$SCRATCH/many.conf" >"$SCRATCH/list" 2>"$SCRATCH/list.err"
ok $? "pam-jwt user list reads the store after the soak"
awk 'NR > 1 && $1 ~ /^soak/ { print $1 }' "$SCRATCH/list" | sort >"$SCRATCH/stored"
sort "$SCRATCH/accepted" >"$SCRATCH/accepted.sorted"
missing=$(comm -23 "$SCRATCH/accepted.sorted" "$SCRATCH/stored" | wc -l)
is "no lost store update: each of the $(wc -l <"$SCRATCH/accepted") users accepted is in the store" "$missing" 0

# ---- one long-lived handle (a screen locker's life): descriptors and memory stay flat ----
ASAN_OPTIONS=$SOAK_ASAN "$SOAK" long "$SCRATCH/pam.d" long "$SCRATCH/idp" "$ISS" "$LONG" >"$SCRATCH/long.out" 2>"$SCRATCH/long.err"
rc=$?
sed 's/^/# /' "$SCRATCH/long.out"
grep WRONG "$SCRATCH/long.err" | head -5 | sed 's/^/# /'
is "$LONG authentications on one handle ran" "$rc" 0
is "one handle: every answer right" "$(value "$SCRATCH/long.out" long wrong)" 0
set -- $(value "$SCRATCH/long.out" long fds)
is "one handle: open descriptors after a quarter of the logins and at the end" "${2:-x}" "${1:-y}"
if [ -n "${PJ_SAN_PRELOAD:-}" ]; then
	# ASan's allocator keeps freed memory in quarantine and mallinfo2 does not see it: LeakSanitizer (on for
	# the soak program, above) is what checks leaks there
	echo "ok $((tap_n + 1)) # SKIP sanitizer build: heap and RSS are ASan's (the plain build checks them)"
	echo "ok $((tap_n + 2)) # SKIP sanitizer build: heap and RSS are ASan's (the plain build checks them)"
	tap_n=$((tap_n + 2))
	done_testing
	exit
fi
set -- $(value "$SCRATCH/long.out" long heap_bytes)
growth=$((${2:-0} - ${1:-0}))
# one leaked allocation per login (32 bytes at least, as malloc counts it) over the last three quarters of
# 8,000 logins is 192 KiB; caches filled once (libcurl's first use at a refresh, the time zone) stay far below
[ -n "${1:-}" ] && [ "$growth" -lt 65536 ]
ok $? "one handle: heap in use flat over the last three quarters of the logins ($1 -> $2 bytes)"
set -- $(value "$SCRATCH/long.out" long rss_kb)
[ -n "${1:-}" ] && [ $((${2:-0} - ${1:-0})) -lt 1024 ]
ok $? "one handle: resident set flat, within the allocator's growth steps ($1 -> $2 KiB)"

done_testing
