#!/bin/sh
# test_format.sh: every C file matches .clang-format (make format-check), with the pinned clang-format 14.
# SPDX-License-Identifier: BSD-3-Clause
. "$(dirname "$0")/lib.sh"

command -v clang-format >/dev/null 2>&1 || skip_all "clang-format is not installed"
clang-format --version | grep -q 'version 14\.' || skip_all "format-check is pinned to clang-format 14 (Debian 12)"
out=$(make -s -C "$TOP_BUILDDIR" format-check 2>&1)
rc=$?
[ $rc -eq 0 ]
ok $? "make format-check passes$( [ $rc -ne 0 ] && echo ": $(echo "$out" | grep -m3 'warning' | tr '\n' ' ')")"
# The check has teeth: a badly formatted copy of a source file is refused by the same command.
cp "$TOP_SRCDIR/pam_jwt/error.c" "$SCRATCH/bad.c"
sed -i 's/^\t/  /' "$SCRATCH/bad.c"
! clang-format --dry-run -Werror --style=file:"$TOP_SRCDIR/.clang-format" "$SCRATCH/bad.c" >/dev/null 2>&1
ok $? "a file indented with spaces is refused (control)"
done_testing
