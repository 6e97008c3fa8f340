#!/bin/sh
# test_faults.sh: fault injection along verification, PAM token and device-flow logins, a JWKS refresh: no crash, a refusal or the right answer.
# SPDX-License-Identifier: BSD-3-Clause
# The Nth call of one function fails (tests/faultinj.c, preloaded): malloc, calloc, realloc, open, openat,
# read, write, pread, pwrite, fstat, fsync, fdatasync, ftruncate, rename, link, unlink, mkdir, fopen, mmap,
# flock, getrandom; OpenSSL's EVP_DigestVerifyInit_ex, EVP_DigestVerify (-1), EVP_PKEY_fromdata,
# EVP_PKEY_CTX_new_from_name, EVP_PKEY_public_check_quick (-1), EVP_MD_CTX_new, OSSL_PARAM_BLD_to_param,
# BN_bin2bn; libcurl's curl_global_init, curl_easy_init, curl_easy_perform, curl_slist_append. Swept, for
# every N (past MAX_POINTS calls of a function, every k-th and the last TAIL_POINTS, 10):
#  - pam-jwt verify (pj_verify, as pam_jwt.so runs it): a refusal, or exactly the fault-free answer; and a
#    forged token always refused (a failure taken for a match shows only there);
#  - a whole PAM token login through libpam (tests/device-pam: pam_authenticate and pam_acct_mgmt with a
#    test pam.d), a FIRST login (alice is added to a store that holds bob) and a RETURNING one: no crash;
#    PAM_SUCCESS only with the store exactly as after the fault-free login, else a failure code; the store
#    (read by pam-jwt user and by libnss_jwt.so.2) is the old or the new version; a fault-free login after
#    it works and leaves the fault-free store; a refusal is named in the log;
#  - pam-jwt jwks refresh from the test IdP (start_idp), the cache holding {k1} and the IdP serving {k1, k2}:
#    exit 0 only with the new keys cached, else the reason; the cache file whole with the old or the new
#    keys, nothing left beside it, and a k1 token still verifies from it (every one of the last 600 calls
#    of each function, in the plain build);
#  - a device-flow login (mode=device) at the test IdP, the person approving: as the token login, but the
#    store read by pam-jwt user only and no login after it, and at most DEVICE_MAX_POINTS (4) per function
#    (each point that gets to polling takes the IdP's interval, a second).
# In the sanitizer build the same sweeps run with ASan's allocator behind the interposer and LeakSanitizer
# on (a leak on the path a fault took fails the point; tests/lsan-openssl.supp: one leak inside libcrypto),
# at most 25 points per function, and without the libcurl points (faultinj.c cannot wrap dlsym there).
# The test runs in a private mount namespace: the store is $SCRATCH/varlib/pam_jwt, bound over /var/lib
# there, where libnss_jwt.so.2 (its path is compiled in) reads it.
. "$(dirname "$0")/lib.sh"

need_root
FAULTINJ="$TOP_BUILDDIR/tests/.libs/faultinj.so"
# FI_ENV: the environment of a faulted program (env's arguments, shell-quoted). In the sanitizer build the
# interposer comes before ASan's runtime (its malloc hands out ASan's memory) and LeakSanitizer checks the
# faulted program at exit: a leak on the path a fault took is status 86, which no check accepts. (Only our
# programs get detect_leaks: the shells and tools around them are not ours.)
FI_PRELOAD=$FAULTINJ
FI_LEAKS=
if [ -n "${PJ_SAN_PRELOAD:-}" ]; then
	FI_PRELOAD="$FAULTINJ $PJ_SAN_PRELOAD"
	# (whole stacks through libcrypto, which has no frame pointers: the suppression names a frame deep in it;
	# print_suppressions=0: a run whose leak was suppressed prints what a clean one does, for the checks)
	FI_LEAKS="ASAN_OPTIONS=$ASAN_OPTIONS:detect_leaks=1:exitcode=86:fast_unwind_on_malloc=0 LSAN_OPTIONS=suppressions=$TOP_SRCDIR/tests/lsan-openssl.supp:print_suppressions=0"
fi
FI_ENV="LD_PRELOAD=\"$FI_PRELOAD\" $FI_LEAKS"
DEVICE_PAM="$TOP_BUILDDIR/tests/device-pam"
NSS_TOOL="$TOP_BUILDDIR/tests/nss-tool"
NSS_SO="$TOP_BUILDDIR/.libs/libnss_jwt.so.2"
[ -e "$FAULTINJ" ] || skip_all "tests/faultinj.so is not built"
if [ "${PJ_FAULTS_IN_NAMESPACE:-}" != 1 ]; then
	unshare -m true 2>/dev/null || skip_all "cannot create a mount namespace here"
	PJ_FAULTS_IN_NAMESPACE=1 exec unshare -m --propagation private sh "$0" "$@"
fi
make_scratch
ISS=https://idp.example.com
make_issuer "$SCRATCH" "$ISS" || { echo "Bail out! cannot make keys"; exit 1; }
# valid for a day: the whole test, or a full sweep (PJ_FAULT_MAX_POINTS=1000000), takes longer than mint's
# default 5 minutes on a slow machine, and an expired token would fail the logins after a fault point
mint "$SCRATCH" ES256 "$ISS" alice 86400 >"$SCRATCH/token"
FUNCS="malloc calloc realloc open openat read write pread pwrite fstat fsync fdatasync ftruncate rename link
unlink mkdir fopen mmap flock getrandom EVP_DigestVerifyInit_ex EVP_DigestVerify EVP_PKEY_fromdata
EVP_PKEY_CTX_new_from_name EVP_PKEY_public_check_quick EVP_MD_CTX_new OSSL_PARAM_BLD_to_param BN_bin2bn
curl_global_init curl_easy_init curl_easy_perform curl_slist_append"
# per function and path; longer sweeps take every k-th call (the sanitizer build, five times slower, 25)
MAX_POINTS=${PJ_FAULT_MAX_POINTS:-${PJ_SAN_PRELOAD:+25}}
MAX_POINTS=${MAX_POINTS:-100}
TAIL_POINTS=${PJ_FAULT_TAIL_POINTS:-10}

# faulted FUNC N COMMAND...: COMMAND (a script that preloads faultinj.so into the program it runs, and only
# there) with the Nth call of FUNC failing, after PREPARE (a shell function: the state to start from), its
# input from TOKEN_FILE; exit status in $rc, output in $SCRATCH/out; returns 1 when the Nth call was never
# reached (the sweep is over).
PREPARE=true
TOKEN_FILE="$SCRATCH/token"
faulted() {
	f=$1 n=$2
	shift 2
	rm -f "$SCRATCH/fired"
	"$PREPARE"
	PJ_FAULT_FUNC=$f PJ_FAULT_N=$n PJ_FAULT_REPORT="$SCRATCH/fired" "$@" <"$TOKEN_FILE" >"$SCRATCH/out" 2>&1
	rc=$?
	[ -e "$SCRATCH/fired" ]
}

# calls FUNC COMMAND...: how many calls of FUNC the fault-free COMMAND makes: from $SCRATCH/counts, which one
# counting run of the sweep wrote (faultinj.c's PJ_FAULT_COUNT), else by bisection (the highest N that fires).
calls() {
	f=$1
	shift
	if [ -s "$SCRATCH/counts" ]; then
		sed -n "s/^$f \([0-9]*\)\$/\1/p" "$SCRATCH/counts"
		return
	fi
	lo=0 hi=1
	while faulted "$f" "$hi" "$@"; do lo=$hi hi=$((hi * 2)); done
	while [ $((hi - lo)) -gt 1 ]; do
		mid=$(((lo + hi) / 2))
		if faulted "$f" "$mid" "$@"; then lo=$mid; else hi=$mid; fi
	done
	echo "$lo"
}

POINTS=0
# sweep NAME CHECK COMMAND...: every fault point of every function along COMMAND; CHECK (a shell function)
# says whether the outcome of one is acceptable (the reason in $why when not).
sweep() {
	name=$1 check=$2
	shift 2
	bad=0 points=0 per_func=""
	rm -f "$SCRATCH/counts"
	"$PREPARE"
	PJ_FAULT_COUNT="$SCRATCH/counts" "$@" <"$TOKEN_FILE" >"$SCRATCH/out" 2>&1
	for f in $FUNCS; do
		total=$(calls "$f" "$@")
		step=$(((total + MAX_POINTS - 1) / MAX_POINTS))
		[ "$step" -ge 1 ] || step=1
		n=1 fpoints=0
		while [ "$n" -le "$total" ]; do
			faulted "$f" "$n" "$@"
			fpoints=$((fpoints + 1))
			why="exit $rc"
			if [ "$rc" -ge 128 ] || ! "$check"; then
				bad=$((bad + 1))
				[ "$bad" -gt 3 ] || diag "$name: $f call $n of $total: $why: $(head -3 "$SCRATCH/out" | tr '\n' ' ')"
			fi
			# past the strided points, the last TAIL_POINTS calls each: what runs last (adopting a
			# result, cleaning up) is where a fault the stride passed over did harm (a double free)
			if [ "$n" -ge $((total - TAIL_POINTS)) ]; then
				n=$((n + 1))
			elif [ $((n + step)) -gt $((total - TAIL_POINTS)) ]; then
				n=$((total - TAIL_POINTS + 1))
			else
				n=$((n + step))
			fi
		done
		points=$((points + fpoints))
		[ "$fpoints" -eq 0 ] || per_func="$per_func $f:$fpoints/$total"
	done
	POINTS=$((POINTS + points))
	diag "$name: fault points (function:swept/calls):$per_func"
	# no fault point at all would mean the interposer never fired: nothing was tested
	[ "$bad" -eq 0 ] && [ "$points" -gt 0 ]
	ok $? "$name: $points fault points, every outcome acceptable, no crash ($bad bad)"
}

# ---- the token verification path (pam-jwt verify runs pj_verify, as pam_jwt.so does) ----
is_ok_verify() {
	case $rc in
	0) cmp -s "$SCRATCH/out" "$SCRATCH/want" ;;
	1 | 2) ! grep -q '^accepted' "$SCRATCH/out" ;;
	*) false ;;
	esac
}
"$PAM_JWT" verify --config "$SCRATCH/pam_jwt.conf" <"$SCRATCH/token" >"$SCRATCH/want" 2>&1 &&
	grep -q '^accepted' "$SCRATCH/want"
ok $? "fault-free: pam-jwt verify accepts the token"
printf 'exec env %s "%s" verify --config "%s"\n' "$FI_ENV" "$PAM_JWT" "$SCRATCH/pam_jwt.conf" \
	>"$SCRATCH/verify.sh"
sweep "pam-jwt verify" is_ok_verify sh "$SCRATCH/verify.sh"
# A forged token (signed by another key under the issuer's kid) stays refused under every fault: a failure
# taken for success (EVP_DigestVerify's -1 as a match) gives the fault-free answer for a good token, so
# only a bad one shows it.
mkdir -m 755 "$SCRATCH/forger"
"$JWT_MINT" keygen ES256 "$SCRATCH/forger/ES256.pem" || { echo "Bail out! cannot make keys"; exit 1; }
mint "$SCRATCH/forger" ES256 "$ISS" alice 86400 >"$SCRATCH/forged"
is_refused_verify() {
	{ [ "$rc" -eq 1 ] || [ "$rc" -eq 2 ]; } && ! grep -q "^accepted" "$SCRATCH/out"
}
TOKEN_FILE="$SCRATCH/forged"
sweep "pam-jwt verify, a forged token" is_refused_verify sh "$SCRATCH/verify.sh"
TOKEN_FILE="$SCRATCH/token"

# ---- a whole PAM token login: the first one (a new user in the store) and a returning one ----
if [ ! -x "$DEVICE_PAM" ] || [ ! -x "$NSS_TOOL" ] || [ ! -e "$NSS_SO" ]; then
	diag "tests/device-pam, tests/nss-tool or libnss_jwt.so.2 not built: no PAM login sweep"
	diag "fault points exercised: $POINTS"
	done_testing
	exit
fi
STATE="$SCRATCH/varlib/pam_jwt"
mkdir -m 755 "$SCRATCH/varlib" "$STATE" "$SCRATCH/pam.d" "$SCRATCH/snap"
mount --make-rprivate / && mount --bind "$SCRATCH/varlib" /var/lib ||
	{ echo "Bail out! cannot bind $SCRATCH/varlib over /var/lib"; exit 1; }
sed -i "s|^state_dir = .*|state_dir = $STATE|" "$SCRATCH/pam_jwt.conf"
printf 'auth required %s config=%s\naccount required %s config=%s\n' "$PAM_MODULE" "$SCRATCH/pam_jwt.conf" \
	"$PAM_MODULE" "$SCRATCH/pam_jwt.conf" >"$SCRATCH/pam.d/pj-login"
# login USER [TOKENFILE]: one fault-free PAM login (authenticate, account); its log in $SCRATCH/log.
login() {
	: >"$SCRATCH/log"
	"$DEVICE_PAM" "$SCRATCH/pam.d" pj-login "$1" "$SCRATCH/log" <"${2:-$SCRATCH/token}" >"$SCRATCH/login.out" 2>&1
}
printf 'exec env %s "%s" "%s" pj-login alice "%s"\n' "$FI_ENV" "$DEVICE_PAM" "$SCRATCH/pam.d" \
	"$SCRATCH/log" >"$SCRATCH/login.sh"

# store_view: the store as its readers see it (pam-jwt user list and show, libnss_jwt.so.2), each time from
# after $T0 shown as NEW (the old versions' times are all before it); in no particular order (the same
# users and members in another order are the same store: a rewrite orders them anew).
store_view() {
	{
		"$PAM_JWT" user list --config "$SCRATCH/pam_jwt.conf"
		"$PAM_JWT" user show alice --config "$SCRATCH/pam_jwt.conf"
		"$NSS_TOOL" call "$NSS_SO" getpwnam alice
		"$NSS_TOOL" call "$NSS_SO" getpwnam bob
		"$NSS_TOOL" call "$NSS_SO" getgrnam devs
	} 2>&1 | awk -v t0="$T0" '
	# a group entry (4 fields): its members sorted
	/^SUCCESS 0 / && split($0, f, ":") == 4 {
		m = split(f[4], mem, ",")
		for (i = 2; i <= m; i++)
			for (j = i; j > 1 && mem[j - 1] > mem[j]; j--) { x = mem[j]; mem[j] = mem[j - 1]; mem[j - 1] = x }
		s = ""
		for (i = 1; i <= m; i++) s = s (i > 1 ? "," : "") mem[i]
		$0 = f[1] ":" f[2] ":" f[3] ":" s
	}
	{ for (i = 1; i <= NF; i++) if ($i ~ /^20[0-9][0-9]-[0-9][0-9]-[0-9][0-9]T/ && $i >= t0) $i = "NEW"; print }' | sort
}
restore() {
	rm -rf "$STATE" && cp -a "$SCRATCH/snap/old" "$STATE" && : >"$SCRATCH/log"
}

# logged: whether the log names a cause (a line of pam_jwt, or of libpam when it could not load the module)
# at LOG_NOTICE or above, but libpam's note on the missing "other" service every run has.
logged() {
	grep -v 'no default config other' "$SCRATCH/log" | grep -q '^<[0-5]> \(pam_jwt\|PAM \)'
}

# judge_login VIEW OLD NEW: the outcome of one faulted PAM login (device-pam's "result:" line, exit status
# $rc) whose store now reads VIEW: the old or the new store; success only with the new one; a refusal exits
# 1 and is named in the log (counted in REFUSED).
judge_login() {
	if [ "$1" != "$2" ] && [ "$1" != "$3" ]; then
		why="store neither the old nor the new version: $(printf '%s' "$1" | head -c 300 | tr '\n' '|')"
		return 1
	fi
	case $(grep '^result: ' "$SCRATCH/out") in
	"result: Success")
		[ "$rc" -eq 0 ] && [ "$1" = "$3" ] || { why="success, but not the fault-free store"; return 1; } ;;
	"result: "*)
		[ "$rc" -eq 1 ] || { why="a failure with exit $rc"; return 1; }
		REFUSED=$((REFUSED + 1))
		logged || { why="refused, and the log does not say why"; return 1; } ;;
	*) [ "$rc" -ne 0 ] || { why="exit 0 without a result"; return 1; } ;;
	esac
}

# is_ok_login: the outcome of one faulted login (see the top), then a fault-free login works after it.
is_ok_login() {
	judge_login "$(store_view)" "$OLD_VIEW" "$NEW_VIEW" || return 1
	if ! login alice; then
		why="a fault-free login after it failed: $(tr '\n' ' ' <"$SCRATCH/log" | head -c 300)"
		return 1
	fi
	[ "$(store_view)" = "$NEW_VIEW" ] || { why="a fault-free login after it left another store"; return 1; }
}

mint "$SCRATCH" ES256 "$ISS" bob 86400 >"$SCRATCH/bob.token"
login bob "$SCRATCH/bob.token"
ok $? "fault-free: bob logs in (the store the first login of alice starts from)"
cp -a "$STATE" "$SCRATCH/snap/bob"
# every time the old versions hold is before T0
sleep 1
T0=$(date -u +%Y-%m-%dT%H:%M:%SZ)
for kind in first returning; do
	rm -rf "$SCRATCH/snap/old"
	cp -a "$SCRATCH/snap/bob" "$SCRATCH/snap/old"
	if [ "$kind" = returning ]; then
		restore && login alice && rm -rf "$SCRATCH/snap/old" && cp -a "$STATE" "$SCRATCH/snap/old"
		sleep 1
		T0=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	fi
	restore
	OLD_VIEW=$(store_view)
	login alice && grep -q 'result: Success' "$SCRATCH/login.out"
	ok $? "fault-free $kind login: PAM_SUCCESS"
	NEW_VIEW=$(store_view)
	[ "$OLD_VIEW" != "$NEW_VIEW" ] && echo "$NEW_VIEW" | grep -q "^SUCCESS 0 alice:"
	ok $? "fault-free $kind login: the store changed, libnss_jwt.so.2 finds alice"
	REFUSED=0
	PREPARE=restore
	sweep "PAM $kind token login" is_ok_login sh "$SCRATCH/login.sh"
	PREPARE=true
	diag "PAM $kind token login: $REFUSED of the fault points refused, each named in the log"
done

# ---- a JWKS refresh (pam-jwt jwks refresh, keystore_refresh as the module runs it) from the test IdP ----
# The cache holds {k1}; the IdP serves {k1, k2}. For every fault point: no crash; exit 0 only with the new
# keys cached, else the reason on stderr; the cache file is whole (pam-jwt jwks status reads it) with the
# old keys or the new ones, no temporary file is left beside it, and a k1 token still verifies from it.
start_idp '{}'
"$JWT_MINT" keygen ES256 "$SCRATCH/k2.pem" || { echo "Bail out! cannot make keys"; exit 1; }
mkdir -m 755 "$SCRATCH/jcache" "$SCRATCH/jstate"
cat >"$SCRATCH/jwks.conf" <<CONF
# pam_jwt test configuration: keys from the test IdP
[global]
cache_dir = $SCRATCH/jcache
state_dir = $SCRATCH/jstate
[issuer fi]
issuer = $DISS
jwks_uri = $DISS/jwks
audience = pam
algorithms = ES256
tls_ca_file = $SCRATCH/ca.pem
CONF
chmod 644 "$SCRATCH/jwks.conf"
"$JWT_MINT" sign ES256 "$SCRATCH/idp.pem" k1 \
	"{\"iss\":\"$DISS\",\"aud\":\"pam\",\"sub\":\"s1\",\"exp\":@now+3600,\"iat\":@now,\"preferred_username\":\"carol\"}" \
	>"$SCRATCH/k1.token"
# cached_keys: the kids pam-jwt jwks status reads from the cache, or "unreadable"
cached_keys() {
	"$PAM_JWT" jwks status --config "$SCRATCH/jwks.conf" >"$SCRATCH/status" 2>&1 &&
		grep -o 'kid=[^ ]*' "$SCRATCH/status" | sort | tr '\n' ' ' || echo unreadable
}
"$PAM_JWT" jwks refresh --config "$SCRATCH/jwks.conf" >"$SCRATCH/out" 2>&1
OLD_KEYS=$(cached_keys)
is "fault-free: the first refresh caches the IdP's {k1}" "$OLD_KEYS" "kid=k1 "
cp -a "$SCRATCH/jcache" "$SCRATCH/snap/jcache"
"$JWT_MINT" jwks "$SCRATCH/idp.pem:k1:ES256" "$SCRATCH/k2.pem:k2:ES256" >"$IDP/jwks.json.new" &&
	mv "$IDP/jwks.json.new" "$IDP/jwks.json"
"$PAM_JWT" jwks refresh --config "$SCRATCH/jwks.conf" >"$SCRATCH/out" 2>&1
NEW_KEYS=$(cached_keys)
is "fault-free: a refresh caches the new {k1, k2}" "$NEW_KEYS" "kid=k1 kid=k2 "
restore_cache() {
	rm -rf "$SCRATCH/jcache" && cp -a "$SCRATCH/snap/jcache" "$SCRATCH/jcache"
}
is_ok_refresh() {
	keys=$(cached_keys)
	if [ "$keys" != "$OLD_KEYS" ] && [ "$keys" != "$NEW_KEYS" ]; then
		why="the cache holds neither the old nor the new keys: $keys $(head -c 200 "$SCRATCH/status" | tr '\n' ' ')"
		return 1
	fi
	if [ "$rc" -eq 0 ]; then
		[ "$keys" = "$NEW_KEYS" ] || { why="exit 0, but the old keys cached"; return 1; }
	else
		grep -q '^pam-jwt: .' "$SCRATCH/out" || { why="failed without saying why"; return 1; }
	fi
	left=$(find "$SCRATCH/jcache" -mindepth 1 ! -name fi.json ! -name fi.lock)
	[ -z "$left" ] || { why="left in the cache directory: $left"; return 1; }
	"$PAM_JWT" verify --config "$SCRATCH/jwks.conf" <"$SCRATCH/k1.token" >"$SCRATCH/verify.out" 2>&1 ||
		{ why="a k1 token no longer verifies: $(head -2 "$SCRATCH/verify.out" | tr '\n' ' ')"; return 1; }
}
printf 'exec env %s "%s" jwks refresh --config "%s" --issuer fi\n' "$FI_ENV" "$PAM_JWT" \
	"$SCRATCH/jwks.conf" >"$SCRATCH/refresh.sh"
# The refresh's last REFRESH_TAIL_POINTS calls of each function are all taken (in the plain build): the TLS
# session ticket arrives with the body, about 500 allocations before the end, and libcurl 7.88 corrupted
# the heap when one allocation failed while it stored that ticket (found by the full sweep at malloc 14,877
# of 15,385; https.c now turns libcurl's session cache off).
REFRESH_TAIL_POINTS=600
[ -z "${PJ_SAN_PRELOAD:-}" ] || REFRESH_TAIL_POINTS=$TAIL_POINTS
PREPARE=restore_cache SWEEP_TAIL=$TAIL_POINTS TAIL_POINTS=$REFRESH_TAIL_POINTS
sweep "JWKS refresh" is_ok_refresh sh "$SCRATCH/refresh.sh"
PREPARE=true TAIL_POINTS=$SWEEP_TAIL

# ---- a device-flow login (mode=device): the module asks the test IdP for a code, the person approves it,
# the module polls for the token, verifies it and adds dave to the store (erin is there before). For every
# fault point: no crash; PAM_SUCCESS only with the store as after the fault-free login; the store the old or
# the new version (pam-jwt user); a refusal named in the log. Each point that gets as far as polling takes a
# second (the IdP's interval), so the sweep takes at most DEVICE_MAX_POINTS per function. ----
DEVICE_MAX_POINTS=${PJ_FAULT_DEVICE_MAX_POINTS:-4}
mkdir -m 755 "$SCRATCH/dstate" "$SCRATCH/dcache"
cat >"$SCRATCH/device.conf" <<CONF
# pam_jwt test configuration: device-flow logins at the test IdP
[global]
cache_dir = $SCRATCH/dcache
state_dir = $SCRATCH/dstate
[issuer idp]
issuer = $DISS
algorithms = ES256
tls_ca_file = $SCRATCH/ca.pem
audience = pam-cli
device_client_id = pam-cli
device_timeout = 20
CONF
chmod 644 "$SCRATCH/device.conf"
printf 'auth required %s config=%s mode=device\naccount required pam_permit.so\n' "$PAM_MODULE" \
	"$SCRATCH/device.conf" >"$SCRATCH/pam.d/pj-device"
printf '{"interval": 1}\n' >"$IDP/config.json"
printf '\n' >"$SCRATCH/enter"
# device_login USER [PRELOAD]: device-pam through pj-device as USER (PRELOAD preloaded into it only), the
# person at the browser approving once the instructions show; device-pam's output, then its exit status.
device_login() {
	: >"$SCRATCH/derr"
	: >"$SCRATCH/log"
	env ${2:+LD_PRELOAD="$2"} ${2:+$FI_LEAKS} "$DEVICE_PAM" "$SCRATCH/pam.d" pj-device "$1" "$SCRATCH/log" \
		<"$SCRATCH/enter" >"$SCRATCH/dout" 2>"$SCRATCH/derr" &
	dpid=$!
	while kill -0 "$dpid" 2>/dev/null; do
		if grep -q 'enter the code' "$SCRATCH/derr"; then
			idp_person "$SCRATCH/derr" approve "$1" >/dev/null 2>&1
			break
		fi
		sleep 0.05
	done
	wait "$dpid"
	drc=$?
	cat "$SCRATCH/dout" "$SCRATCH/derr"
	return "$drc"
}
faulted_device_login() {
	device_login dave "$FI_PRELOAD"
}
device_view() {
	"$PAM_JWT" user show dave --config "$SCRATCH/device.conf" 2>&1 | awk -v t0="$T0" '
	{ for (i = 1; i <= NF; i++) if ($i ~ /^20[0-9][0-9]-[0-9][0-9]-[0-9][0-9]T/ && $i >= t0) $i = "NEW"; print }'
}
restore_device() {
	rm -rf "$SCRATCH/dstate" "$SCRATCH/dcache" && cp -a "$SCRATCH/snap/dstate" "$SCRATCH/dstate" &&
		cp -a "$SCRATCH/snap/dcache" "$SCRATCH/dcache"
}
is_ok_device() {
	judge_login "$(device_view)" "$OLD_DVIEW" "$NEW_DVIEW"
}
device_login erin >"$SCRATCH/out" 2>&1 && grep -q '^result: Success' "$SCRATCH/out"
ok $? "fault-free: a device-flow login of erin (the store and key cache the sweep starts from)"
cp -a "$SCRATCH/dstate" "$SCRATCH/snap/dstate" && cp -a "$SCRATCH/dcache" "$SCRATCH/snap/dcache"
sleep 1
T0=$(date -u +%Y-%m-%dT%H:%M:%SZ)
OLD_DVIEW=$(device_view)
device_login dave >"$SCRATCH/out" 2>&1 && grep -q '^result: Success' "$SCRATCH/out"
ok $? "fault-free: a device-flow login of dave: PAM_SUCCESS"
NEW_DVIEW=$(device_view)
[ "$OLD_DVIEW" != "$NEW_DVIEW" ] && echo "$NEW_DVIEW" | grep -q '^name: *dave$'
ok $? "fault-free: dave is in the store after it"
PREPARE=restore_device TOKEN_FILE="$SCRATCH/enter" SWEEP_MAX=$MAX_POINTS MAX_POINTS=$DEVICE_MAX_POINTS SWEEP_TAIL=$TAIL_POINTS TAIL_POINTS=0
sweep "PAM device-flow login" is_ok_device faulted_device_login
PREPARE=true TOKEN_FILE="$SCRATCH/token" MAX_POINTS=$SWEEP_MAX TAIL_POINTS=$SWEEP_TAIL

diag "fault points exercised: $POINTS"
done_testing
