#!/bin/sh
# run.sh: `make bench` (issue #6): installs the bench-only packages, builds the bench programs, runs the four
# SPDX-License-Identifier: BSD-3-Clause
# parts (verification throughput, cold login, NSS, concurrency) and writes results/bench.md and
# results/bench.png (raw numbers in results/raw.txt). Needs root: mount namespaces and root-owned trust files.
set -e
TOP_SRCDIR=${TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
TOP_BUILDDIR=${TOP_BUILDDIR:-$TOP_SRCDIR}
MAKE=${MAKE:-make}
RESULTS="$TOP_BUILDDIR/results"
# Knobs for a quicker look (the defaults are what the README quotes).
VERIFY_BLOCK=${VERIFY_BLOCK:-0.2}
VERIFY_ROUNDS=${VERIFY_ROUNDS:-9}
COLD_REPS=${COLD_REPS:-200}
NSS_ROUNDS=${NSS_ROUNDS:-5}
NSS_BLOCK=${NSS_BLOCK:-0.05}
NSS_SIZES=${NSS_SIZES:-"1000 10000 100000"}
PARALLEL=${PARALLEL:-"2 8 32"}
PER_WORKER=${PER_WORKER:-8}
SCALE_SIZES=${SCALE_SIZES:-"1000 10000 100000 1000000"}
SCALE_REPS=${SCALE_REPS:-200}

say() { printf 'bench: %s\n' "$*" >&2; }

[ "$(id -u)" -eq 0 ] || { say "run as root (mount namespaces, root-owned key and store files)"; exit 1; }
sh "$TOP_SRCDIR/bench/install-deps.sh"
$MAKE -C "$TOP_BUILDDIR" bench-programs >/dev/null
B="$TOP_BUILDDIR/bench"
MODULE="$TOP_BUILDDIR/.libs/pam_jwt.so"
WORK=$(mktemp -d /tmp/pj_bench.XXXXXX)
chmod 0755 "$WORK"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$RESULTS"
RAW="$RESULTS/raw.txt"
: >"$RAW"
T0=$(date +%s)

# users for the concurrency part: PER_WORKER logins per worker for each P, then as many again for "record"
total=0
for p in $PARALLEL; do total=$((total + p * PER_WORKER)); done
SCENE="$WORK/scene"
say "scene: keys, JWKS cache, configuration, $((2 * total + 1)) tokens"
"$B/bench_login" scene "$SCENE" "$MODULE" $((2 * total))

# ---- 1. verification throughput on one core; NSS for the root/system-account check: files only ----
printf 'passwd: files\ngroup: files\nshadow: files\n' >"$WORK/nsswitch-files.conf"
CPU=$(($(nproc) - 1))
say "1/5 verification throughput (core $CPU, ${VERIFY_ROUNDS} rounds)"
unshare -m --propagation private sh -c 'mount --bind "$1" /etc/nsswitch.conf && exec taskset -c "$2" "$3" "$4" "$5" "$6"' \
	verify "$WORK/nsswitch-files.conf" "$CPU" "$B/bench_verify" "$SCENE" "$VERIFY_BLOCK" "$VERIFY_ROUNDS" >>"$RAW"
# the whole pj_verify (with the identity step's getpwnam_r) on RS256 with this host's own nsswitch.conf, for context
BENCH_FULL=1 taskset -c "$CPU" "$B/bench_verify" "$SCENE" "$VERIFY_BLOCK" 3 RS256 | sed 's/^verify /verifyhost /' >>"$RAW"
echo "verifyhost nsswitch $(sed -n 's/^passwd:[[:space:]]*//p' /etc/nsswitch.conf | tr ' ' '_')" >>"$RAW"

# where pj_verify_token's instructions go (callgrind, deterministic): what the targets above are missed by
if command -v valgrind >/dev/null 2>&1; then
	for alg in RS256 ES256; do
		unshare -m --propagation private sh -c 'mount --bind "$1" /etc/nsswitch.conf && exec valgrind -q \
			--tool=callgrind --callgrind-out-file="$2" --toggle-collect=pj_verify_token "$3" "$4" profile "$5" 200' \
			cg "$WORK/nsswitch-files.conf" "$WORK/cg-$alg.out" "$B/bench_verify" "$SCENE" "$alg" >/dev/null
		callgrind_annotate --inclusive=yes --threshold=100 "$WORK/cg-$alg.out" 2>/dev/null |
			sed -n 's/^ *\([0-9,]*\) ([ 0-9.]*%)  *[^ ]*:\([A-Za-z_][A-Za-z_0-9]*\)\( \|@\|\.\).*/profile '"$alg"' \2 \1/p' |
			tr -d ',' >>"$RAW"
	done
fi

# heap allocations per verified token (issue #10, item 5): tests/faultinj.so counting every malloc, calloc
# and realloc of 1,000 profile verifications, less those of none
FAULTINJ="$TOP_BUILDDIR/tests/.libs/faultinj.so"
allocations() { awk '$1 == "malloc" || $1 == "calloc" || $1 == "realloc" { n += $2 } END { print n }' "$1"; }
for alg in RS256 ES256; do
	for n in 0 1000; do
		PJ_FAULT_COUNT="$WORK/allocs-$alg-$n" LD_PRELOAD="$FAULTINJ" "$B/bench_verify" "$SCENE" profile "$alg" $n \
			>/dev/null
	done
	echo "allocs $alg $(allocations "$WORK/allocs-$alg-1000") $(allocations "$WORK/allocs-$alg-0")" >>"$RAW"
done

# ---- 2. cold login: a fresh process per login, pam_jwt.so against pam_permit.so ----
say "2/5 cold logins ($COLD_REPS of each variant)"
ALL_LIBS=$(readelf -d "$MODULE" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | grep -v -e '^libpam\.' -e '^libc\.' | tr '\n' ' ')
BENCH_ALL_LIBS="$ALL_LIBS" "$B/bench_login" cold "$SCENE" "$B/login_proc" "$COLD_REPS" >>"$RAW"
i=0
while [ $i -lt 5 ]; do "$B/bench_login" phases "$SCENE" >>"$RAW"; i=$((i + 1)); done
# libpam loads modules with dlopen(RTLD_NOW), which binds every symbol of every library the module pulls in
PERMIT=$(dpkg -L libpam-modules | grep '/pam_permit\.so$' | head -1)
i=0
while [ $i -lt 21 ]; do
	for lib in "$MODULE" "$PERMIT" $ALL_LIBS; do
		echo "dlopen $(basename "$lib") $("$B/login_proc" --dlopen "$lib")" >>"$RAW"
	done
	i=$((i + 1))
done
for svc in jwt permit jwt-expired; do
	strace -f -qq -e trace=network -o "$WORK/net-$svc.txt" \
		"$B/login_proc" "$SCENE/pam.d" "$svc" alice "$SCENE/tokens/alice" >/dev/null
	strace -f -qq -e trace=openat -o "$WORK/open-$svc.txt" \
		"$B/login_proc" "$SCENE/pam.d" "$svc" alice "$SCENE/tokens/alice" >/dev/null
	all=$(grep -c '(' "$WORK/net-$svc.txt" || true)
	inet=$(grep -cE 'AF_INET|sin_port|sin6_port' "$WORK/net-$svc.txt" || true)
	libs=$(grep -v ENOENT "$WORK/open-$svc.txt" | grep -c '\.so[.0-9]*"' || true)
	echo "netcount $svc all $all inet $inet libs $libs" >>"$RAW"
	sed "s/^/strace $svc /" "$WORK/net-$svc.txt" >>"$RAW"
done
echo "needed $(readelf -d "$MODULE" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')" >>"$RAW"

# ---- 3. NSS: stores and files of 1k, 10k, 100k users ----
say "3/5 NSS lookups ($NSS_SIZES users, $NSS_ROUNDS rounds)"
sh "$TOP_SRCDIR/bench/nss.sh" "$TOP_BUILDDIR" "$SCENE" "$WORK/nss" "$NSS_ROUNDS" "$NSS_BLOCK" $NSS_SIZES >>"$RAW"

# ---- 4. concurrency: P parallel cold logins of distinct users, then the store checked for every one ----
say "4/5 parallel logins ($PARALLEL)"
first=0
for p in $PARALLEL; do
	n=$((p * PER_WORKER))
	"$B/bench_login" parallel "$SCENE" "$B/login_proc" permit "$p" "$n" "$first" >>"$RAW" || true
	"$B/bench_login" parallel "$SCENE" "$B/login_proc" jwt "$p" "$n" "$first" >>"$RAW" || true
	"$B/bench_login" storecheck "$SCENE" "$n" "$first" | sed "s/^storecheck /storecheck p $p /" >>"$RAW"
	first=$((first + n))
done
for p in $PARALLEL; do
	n=$((p * PER_WORKER))
	"$B/bench_login" record "$SCENE" "$p" "$n" "$first" >>"$RAW" || true
	first=$((first + n))
done

# ---- 5. scale: one process, stores of SCALE_SIZES users: returning and first logins, size, lookups ----
say "5/5 login cost against store size ($SCALE_SIZES users)"
"$B/bench_login" scene "$WORK/scale" "$MODULE" 0
BENCH_LOGIN_PROC="$B/login_proc" "$B/bench_scale" "$WORK/scale" "$SCALE_REPS" $SCALE_SIZES >>"$RAW"

echo "elapsed_s $(($(date +%s) - T0))" >>"$RAW"
echo "machine $(nproc) cores, $(uname -r), $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)" >>"$RAW"
say "report"
python3 "$TOP_SRCDIR/bench/report.py" "$RAW" "$RESULTS"
(cd "$RESULTS" && gnuplot "$TOP_SRCDIR/bench/bench.gnuplot")
say "wrote $RESULTS/bench.md and $RESULTS/bench.png in $(($(date +%s) - T0)) s"
