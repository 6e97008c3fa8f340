#!/bin/sh
# test_lazy_libs.sh: libcurl and libqrencode are loaded only when a fetch or a QR code needs them (issue #6):
# SPDX-License-Identifier: BSD-3-Clause
# pam_jwt.so and pam-jwt do not link them, a login with its keys at hand never opens them, a login that must
# fetch does, and a libcurl that cannot be loaded is a clear refusal, not a crash.
. "$(dirname "$0")/lib.sh"

need_root
[ -f "$PAM_MODULE" ] || skip_all "pam_jwt.so not built"
need_pamtester
unshare -m true 2>/dev/null || skip_all "cannot create a mount namespace"
soname() { sed -n "s/^#define $1 \"\\(.*\\)\"\$/\\1/p" "$TOP_BUILDDIR/config.h"; }
CURL_SO=$(soname PJ_CURL_SONAME)
QR_SO=$(soname PJ_QRENCODE_SONAME)
[ -n "$CURL_SO" ] && [ -n "$QR_SO" ] || { echo "Bail out! no PJ_CURL_SONAME / PJ_QRENCODE_SONAME in config.h"; exit 1; }
make_scratch

# ---- nothing links them ----
for bin in "$PAM_MODULE" "$PAM_JWT"; do
	name=$(basename "$bin")
	needed_libs "$bin" >"$SCRATCH/needed"
	grep -qx 'libcrypto\.so\.[0-9]*' "$SCRATCH/needed"
	ok $? "$name: readelf sees its NEEDED libcrypto (the check below reads real entries)"
	grep -q -e '^libcurl' -e '^libqrencode' "$SCRATCH/needed"
	[ $? -ne 0 ]
	ok $? "$name: no NEEDED libcurl or libqrencode ($(tr '\n' ' ' <"$SCRATCH/needed"))"
done

# ---- logins under LD_DEBUG=files: which shared objects the PAM application opens ----
ISS=https://idp.example.com
make_issuer "$SCRATCH" "$ISS" || { echo "Bail out! cannot make keys"; exit 1; }
mkdir -m 755 "$SCRATCH/fetch" "$SCRATCH/fetch/cache"
# an issuer whose keys must be fetched, from a loopback port where nothing listens
closed_port
cat >"$SCRATCH/fetch/pam_jwt.conf" <<EOF2
[global]
cache_dir = $SCRATCH/fetch/cache
state_dir = $SCRATCH/fetch/cache
[issuer test]
issuer = $ISS
audience = pam
algorithms = ES256
jwks_uri = http://127.0.0.1:$CLOSED_PORT/jwks.json
insecure_allow_http_loopback = yes
EOF2
chmod 644 "$SCRATCH/fetch/pam_jwt.conf"
mkdir "$SCRATCH/pam.d"
printf 'auth required %s config=%s\n' "$PAM_MODULE" "$SCRATCH/pam_jwt.conf" >"$SCRATCH/pam.d/pam-jwt-warm"
printf 'auth required %s config=%s\n' "$PAM_MODULE" "$SCRATCH/fetch/pam_jwt.conf" >"$SCRATCH/pam.d/pam-jwt-fetch"
cat >"$SCRATCH/inside.sh" <<EOF2
#!/bin/sh
mount --make-rprivate / && mount --bind "$SCRATCH/pam.d" /etc/pam.d || exit 99
LD_DEBUG=files exec "$PAMTESTER" "\$1" alice authenticate <"$SCRATCH/token" 2>"$SCRATCH/ld.\$1"
EOF2
chmod +x "$SCRATCH/inside.sh"
mint "$SCRATCH" ES256 "$ISS" alice >"$SCRATCH/token"
# opened NAME SERVICE: whether the login through SERVICE opened a shared object NAME* (by name or path)
opened() { grep -Eq "file=([^ ]*/)?$1[^ ]* +\[" "$SCRATCH/ld.$2"; }

unshare -m "$SCRATCH/inside.sh" pam-jwt-warm >"$SCRATCH/out" 2>&1
ok $? "a login with its keys in jwks_file succeeds"
opened pam_jwt.so pam-jwt-warm && opened libcrypto.so pam-jwt-warm
ok $? "LD_DEBUG=files saw libpam load pam_jwt.so and its libcrypto (the checks below see real loads)"
opened libcurl pam-jwt-warm
[ $? -ne 0 ]
ok $? "that login did not load libcurl"
opened libqrencode pam-jwt-warm
[ $? -ne 0 ]
ok $? "nor libqrencode"
unshare -m "$SCRATCH/inside.sh" pam-jwt-fetch >"$SCRATCH/out" 2>&1
[ $? -ne 0 ]
ok $? "a login whose keys cannot be fetched is refused"
# (in a sanitizer build the ASan runtime's dlopen interceptor is the caller ld.so names)
grep -qE "file=$CURL_SO *\[.*dynamically loaded by .*(pam_jwt\.so${PJ_SAN_PRELOAD:+|libasan\.so})" "$SCRATCH/ld.pam-jwt-fetch"
ok $? "that login loaded $CURL_SO, with dlopen from pam_jwt.so, to fetch"
opened libqrencode pam-jwt-fetch
[ $? -ne 0 ]
ok $? "and still not libqrencode (no device flow)"

# ---- a libcurl that cannot be loaded: the reason, no crash (pam-jwt is no setuid program: LD_LIBRARY_PATH) ----
refresh() { # LIBDIR: pam-jwt jwks refresh of the fetch issuer, LIBDIR first in the library path
	LD_LIBRARY_PATH=$1 "$PAM_JWT" jwks refresh --config "$SCRATCH/fetch/pam_jwt.conf" >"$SCRATCH/refresh.out" 2>&1
}
refresh ""
rc=$?
[ $rc -eq 1 ] && grep -q 'refresh failed' "$SCRATCH/refresh.out" && ! grep -q 'cannot load' "$SCRATCH/refresh.out"
ok $? "with the real $CURL_SO, refresh fails on the connection (exit $rc)"
mkdir "$SCRATCH/badlib"
cp "$(readlink -f "$(ldconfig -p | sed -n "s/^[[:space:]]*$QR_SO .*=> //p" | head -1)")" "$SCRATCH/badlib/$CURL_SO"
refresh "$SCRATCH/badlib"
rc=$?
[ $rc -eq 1 ] && grep -q "cannot load $CURL_SO: .*curl_global_init" "$SCRATCH/refresh.out"
ok $? "a $CURL_SO without curl's functions: refresh refused with the missing function named (exit $rc)"
[ $rc -eq 1 ] || sed 's/^/# /' "$SCRATCH/refresh.out"
printf 'not a shared object\n' >"$SCRATCH/badlib/$CURL_SO"
refresh "$SCRATCH/badlib"
rc=$?
[ $rc -eq 1 ] && grep -q "cannot load $CURL_SO: " "$SCRATCH/refresh.out"
ok $? "a $CURL_SO that is no shared object: refresh refused with the reason (exit $rc)"
[ $rc -eq 1 ] || sed 's/^/# /' "$SCRATCH/refresh.out"
done_testing
