#!/bin/sh
# test_symbols.sh: pam_jwt.so exports only pam_sm_* (the version script works) and carries no cli/ code.
# SPDX-License-Identifier: BSD-3-Clause
. "$(dirname "$0")/lib.sh"

[ -f "$PAM_MODULE" ] || skip_all "pam_jwt.so not built"
exported=$(nm -D --defined-only "$PAM_MODULE" | awk '{print $3}' | sed 's/@.*//' | sort -u)
diag "exported: $(echo $exported)"
bad=$(echo "$exported" | grep -v '^pam_sm_' | grep -v '^$')
[ -z "$bad" ]
ok $? "pam_jwt.so exports nothing but pam_sm_* (extra: $(echo $bad))"
for f in pam_sm_authenticate pam_sm_setcred pam_sm_acct_mgmt pam_sm_open_session pam_sm_close_session; do
	echo "$exported" | grep -qx "$f"
	ok $? "pam_jwt.so exports $f"
done
# Library internals (pj_verify, jws_parse, ...) stay hidden.
echo "$exported" | grep -q '^pj_verify$'
[ $? -ne 0 ]
ok $? "pj_verify is not exported"
# The module carries no code of the pam-jwt program (cli/ is a library of its own): not even as local
# symbols. Counted over the whole symbol table, so the control below proves nm sees local functions at all.
all_syms=$(nm "$PAM_MODULE" 2>/dev/null | awk '{print $3}')
echo "$all_syms" | grep -qx 'pj_verify_token'
ok $? "nm sees the module's local functions (control: pj_verify_token)"
cli_syms=$(echo "$all_syms" | grep -E '^cli_' | tr '\n' ' ')
[ -z "$cli_syms" ]
ok $? "pam_jwt.so carries no cli_* function (found: $cli_syms)"
done_testing
