#!/bin/sh
# test_state_dir.sh: one Makefile variable, PJ_STATE_DIR, puts the user store in the NSS module and the writer.
# SPDX-License-Identifier: BSD-3-Clause
. "$(dirname "$0")/lib.sh"

# The NSS module cannot read pam_jwt.conf, so the store directory is compiled in; state_dir's default in
# the library (the writer: pam_jwt.so, pam-jwt) must be the same directory, or logins would write a store
# that no process ever reads.
[ -n "$PJ_STATE_DIR" ] || skip_all "PJ_STATE_DIR not passed by make check"
NSS_MODULE="$TOP_BUILDDIR/.libs/libnss_jwt.so.2"
[ -f "$NSS_MODULE" ] && [ -f "$PAM_MODULE" ] || skip_all "modules not built"
make_scratch

# The built artifacts: both carry the directory make was given.
strings "$NSS_MODULE" | grep -qx "$PJ_STATE_DIR"
ok $? "libnss_jwt.so.2 is built with the store in $PJ_STATE_DIR"
strings "$PAM_MODULE" | grep -qx "$PJ_STATE_DIR"
ok $? "pam_jwt.so is built with state_dir defaulting to $PJ_STATE_DIR"

# And the wiring: with another PJ_STATE_DIR on make's command line, both the library's configuration
# source and the NSS module would be compiled with it (make -n: nothing is built).
srcdir=$(sed -n 's/^srcdir = //p' "$TOP_BUILDDIR/Makefile")
moved=/pj-test/moved-state
# compile_line SOURCE OBJECT: the command make would run to compile SOURCE into OBJECT.
compile_line() {
	make -s -n -C "$TOP_BUILDDIR" -W "$1" -W "$srcdir/$1" PJ_STATE_DIR="$moved" "$2" 2>/dev/null | grep -- "-c -o $2"
}
compile_line pam_jwt/config_file.c pam_jwt/config_file.lo >"$SCRATCH/lib"
grep -q "PJ_STATE_DIR='\"$moved\"'" "$SCRATCH/lib"
ok $? "make PJ_STATE_DIR=$moved compiles the library's state_dir default with it"
compile_line nss/nss_jwt.c nss/libnss_jwt_la-nss_jwt.lo >"$SCRATCH/nss"
grep -q "PJ_STATE_DIR='\"$moved\"'" "$SCRATCH/nss"
ok $? "make PJ_STATE_DIR=$moved compiles the NSS module with it"
done_testing
