#!/bin/sh
# install-deps.sh: installs what building and testing pam_jwt needs on Debian 12 (run as root).
# SPDX-License-Identifier: BSD-3-Clause
set -e
export DEBIAN_FRONTEND=noninteractive
PKGS="build-essential autoconf automake libtool pkg-config libssl-dev libjson-c-dev libcurl4-openssl-dev
 libpam0g-dev libqrencode-dev zbar-tools pamtester valgrind openssl ca-certificates python3 python3-cryptography util-linux procps binutils
 openssh-server openssh-client sudo clang-format mandoc
 debhelper dh-nss dpkg-dev fakeroot lintian
 clang libclang-rt-14-dev clang-tools cppcheck gcovr locales strace"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
# test_json_strict checks that numbers do not follow the locale: it needs one with a decimal comma
locale -a 2>/dev/null | grep -qiE '^(de_DE|fr_FR)\.utf-?8$' || localedef -i de_DE -f UTF-8 de_DE.UTF-8
