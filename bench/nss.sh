#!/bin/sh
# nss.sh: the NSS part of `make bench`, in a private mount namespace so the host is not touched.
# SPDX-License-Identifier: BSD-3-Clause
# For each store size, a store and passwd/group files of the same entries, then bench_nss lookup with the
# store bound over the module's compiled-in /var/lib/pam_jwt and the files bound over /etc/passwd and
# /etc/group.
# Usage: nss.sh BUILDDIR SCENE WORK ROUNDS BLOCK_SECONDS SIZE...   (prints bench_nss lines, with the round)
set -e
if [ "${PJ_BENCH_NS:-}" != 1 ]; then
	PJ_BENCH_NS=1 exec unshare -m --propagation private sh "$0" "$@"
fi
BUILD=$1 SCENE=$2 WORK=$3 ROUNDS=$4 BLOCK=$5
shift 5
BENCH_NSS="$BUILD/bench/bench_nss"
mkdir -p "$WORK/lib"
cp -L "$BUILD/.libs/libnss_jwt.so.2" "$WORK/lib/libnss_jwt.so.2"
export LD_LIBRARY_PATH="$WORK/lib"
# lookup N G DISTINCT: bench_nss lookup with size N's store and files bound in place
lookup() {
	unshare -m --propagation private sh -c '
		mount --bind "$1" /var/lib/pam_jwt && mount --bind "$2" /etc/passwd && mount --bind "$3" /etc/group &&
		exec "$4" lookup "$5" "$6" "$7" "$8" "$9"' nss "$WORK/store-$1" "$WORK/passwd-$1" "$WORK/group-$1" \
		"$BENCH_NSS" "$1" "$2" 2 "$BLOCK" "$3"
}
mount -t tmpfs -o mode=0755 pj-bench /var/lib
mkdir -m 0755 /var/lib/pam_jwt
for n in "$@"; do
	"$BENCH_NSS" build "$WORK/store-$n" "$n" $((n / 10)) "$WORK/passwd-$n" "$WORK/group-$n"
	chmod 0644 "$WORK/passwd-$n" "$WORK/group-$n"
	echo "store $n bytes $(stat -c %s "$WORK/store-$n/users.db") passwd_bytes $(stat -c %s "$WORK/passwd-$n")" \
		"group_bytes $(stat -c %s "$WORK/group-$n")"
	last=$n
done
# sizes interleaved round by round (and jwt/files inside each), so noise hits every size alike
r=0
while [ $r -lt "$ROUNDS" ]; do
	for n in "$@"; do
		lookup "$n" $((n / 10)) 0 | sed "s/^nss /nss $r /"
	done
	r=$((r + 1))
done
# the largest size again with 16 names only, all of them in the CPU caches: what the search itself costs
lookup "$last" $((last / 10)) 16 | sed 's/^nss /nsshot 0 /'
# adding a user to the largest store: a first login's store update, with the host's own account files
"$BENCH_NSS" add "$SCENE" "$WORK/store-$last" 5
