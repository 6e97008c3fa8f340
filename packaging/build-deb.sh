#!/bin/sh
# build-deb.sh: builds the Debian packages from the committed tree (git archive HEAD) in a temporary copy.
# SPDX-License-Identifier: BSD-3-Clause
# So the checkout is never configured or cleaned by dpkg-buildpackage.
#
#   packaging/build-deb.sh [OUTDIR] [dpkg-buildpackage options]     (default options: -us -uc -b)
#
# By hand, in a copy of the tree: cp -r packaging/debian . && dpkg-buildpackage -us -uc -b
set -eu

top=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
out=${1:-}
[ $# -gt 0 ] && shift
[ $# -gt 0 ] || set -- -us -uc -b

version=$(dpkg-parsechangelog -l "$top/packaging/debian/changelog" -S Version)
upstream=${version%-*}
work=$(mktemp -d /tmp/pam-jwt-deb.XXXXXX)
src="$work/pam-jwt-$upstream"
[ -n "$out" ] || out="$work/out"
mkdir -p "$out"
out=$(cd "$out" && pwd)

# The upstream tarball is the committed tree; debian/ goes on top of it, as a source package wants.
git -C "$top" archive --format=tar --prefix="pam-jwt-$upstream/" HEAD | tar -x -C "$work"
tar -C "$work" -czf "$work/pam-jwt_$upstream.orig.tar.gz" "pam-jwt-$upstream"
cp -r "$src/packaging/debian" "$src/debian"

(cd "$src" && dpkg-buildpackage "$@")

find "$work" -maxdepth 1 -type f \( -name '*.deb' -o -name '*.ddeb' -o -name '*.changes' \
	-o -name '*.buildinfo' -o -name '*.dsc' -o -name '*.debian.tar.*' -o -name '*.orig.tar.*' \) \
	-exec cp {} "$out/" \;
echo "build-deb.sh: packages in $out (build tree: $src)"
