#!/bin/sh
# test_symbols.sh: pam_jwt.so exports only pam_sm_* (the version script works).
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
done_testing
