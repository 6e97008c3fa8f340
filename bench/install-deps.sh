#!/bin/sh
# install-deps.sh: installs what `make bench` needs beyond the build on Debian 12; run as root.
# SPDX-License-Identifier: BSD-3-Clause
# libjwt for the comparison, gnuplot for the chart, strace to count network calls, valgrind for profiles.
set -e
export DEBIAN_FRONTEND=noninteractive
PKGS="libjwt-dev gnuplot-nox strace valgrind util-linux"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "bench: missing packages:$missing (run bench/install-deps.sh as root)" >&2
	exit 1
fi
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
