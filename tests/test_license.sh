#!/bin/sh
# test_license.sh: LICENSE is BSD-3-Clause and every source file carries the SPDX line near its top.
# SPDX-License-Identifier: BSD-3-Clause
. "$(dirname "$0")/lib.sh"

cd "$TOP_SRCDIR" || skip_all "no source tree"
grep -q '^BSD 3-Clause License$' LICENSE
ok $? "LICENSE is the BSD 3-Clause text"
grep -q '^License: BSD-3-Clause$' packaging/debian/copyright && ! grep -qi 'UNDECIDED' packaging/debian/copyright
ok $? "debian/copyright says BSD-3-Clause"
grep -q '^License: *BSD-3-Clause$' packaging/rpm/pam_jwt.spec
ok $? "the RPM spec says BSD-3-Clause"

# The source files: by ending or name, from the tree itself (a dist tarball has no .git).
missing=""
n=0
for f in $(find . -path ./autom4te.cache -prune -o -path ./fuzz/corpus -prune -o -path ./.git -prune -o \
	-path ./build-aux -prune -o -path ./m4 -prune -o -type f \
	\( -name '*.c' -o -name '*.h' -o -name '*.sh' -o -name '*.py' -o -name '*.sym' -o -name 'Makefile.am' \
	-o -name 'configure.ac' -o -name '*.spec' -o -name rules \) -print); do
	case $f in ./config.h | */config.h) continue ;; esac
	n=$((n + 1))
	head -n 6 "$f" | grep -q 'SPDX-License-Identifier: BSD-3-Clause' || missing="$missing $f"
done
[ "$n" -gt 50 ]
ok $? "found the source files ($n)"
[ -z "$missing" ]
ok $? "every source file has the SPDX line (missing:$missing)"
done_testing
