#!/bin/sh
# test_authselect.sh: the RPM's authselect profile "jwt", rendered as authselect would, logs in a token and a password through pamtester.
# SPDX-License-Identifier: BSD-3-Clause
#
# Debian has no authselect, so its template syntax is rendered here ({include if "F"}, {exclude if "F"},
# {if "F":text}, {if not "F":text}) for a set of features, and the result is run by Linux-PAM in a private
# mount namespace: /etc/pam.d, /etc/passwd and /etc/shadow are bound over with copies (a local user with a
# password added), and only pam_jwt.so is replaced by the built module with config=.
. "$(dirname "$0")/lib.sh"

need_root
need_pamtester
unshare -m true 2>/dev/null || skip_all "cannot create a mount namespace"
command -v openssl >/dev/null 2>&1 || skip_all "no openssl CLI"
make_scratch
PROFILE="$TOP_SRCDIR/packaging/rpm/authselect/jwt"
ISS=https://idp.example.com
make_issuer "$SCRATCH" "$ISS" || { echo "Bail out! cannot make keys"; exit 1; }

# render FILE FEATURE...: the template with these features selected, as authselect writes it.
render() {
	file=$1
	shift
	awk -v feats=" $* " '
	function on(f) { return index(feats, " " f " ") > 0 }
	{
		line = $0
		if (match(line, /\{include if "[^"]*"\}/)) {
			f = substr(line, RSTART + 12, RLENGTH - 14)
			if (!on(f)) next
			line = substr(line, 1, RSTART - 1) substr(line, RSTART + RLENGTH)
		}
		if (match(line, /\{exclude if "[^"]*"\}/)) {
			f = substr(line, RSTART + 12, RLENGTH - 14)
			if (on(f)) next
			line = substr(line, 1, RSTART - 1) substr(line, RSTART + RLENGTH)
		}
		while (match(line, /\{if (not )?"[^"]*":[^}]*\}/)) {
			body = substr(line, RSTART + 4, RLENGTH - 5)
			neg = (substr(body, 1, 4) == "not ")
			if (neg) body = substr(body, 5)
			q = index(substr(body, 2), "\"")
			f = substr(body, 2, q - 1)
			text = substr(body, q + 3)
			keep = neg ? !on(f) : on(f)
			line = substr(line, 1, RSTART - 1) (keep ? text : "") substr(line, RSTART + RLENGTH)
		}
		sub(/[ \t]+$/, "", line)
		print line
	}' "$file"
}

# The rendered templates leave no template syntax behind, with and without features.
for feats in "" "with-faillock with-mkhomedir without-nullok with-pamaccess"; do
	left=""
	for f in system-auth password-auth nsswitch.conf postlogin fingerprint-auth smartcard-auth; do
		render "$PROFILE/$f" $feats | grep -q '[{}]' && left="$left $f"
	done
	[ -z "$left" ]
	ok $? "rendered with features '$feats': no template syntax left ($left)"
done
render "$PROFILE/system-auth" without-nullok | grep -q nullok
[ $? -ne 0 ]
ok $? "without-nullok drops nullok"
render "$PROFILE/system-auth" | grep -Eq '^auth +sufficient +pam_unix\.so nullok try_first_pass$'
ok $? "pam_unix takes the answer pam_jwt collected (try_first_pass)"
jwt_line=$(render "$PROFILE/system-auth" | grep -n 'pam_jwt\.so ignore_non_jwt' | cut -d: -f1)
unix_line=$(render "$PROFILE/system-auth" | grep -n 'pam_unix\.so' | head -1 | cut -d: -f1)
[ -n "$jwt_line" ] && [ -n "$unix_line" ] && [ "$jwt_line" -lt "$unix_line" ]
ok $? "pam_jwt.so ignore_non_jwt stands ahead of pam_unix.so"
for db in passwd group; do
	render "$PROFILE/nsswitch.conf" | grep -Eq "^$db: +files systemd jwt$"
	ok $? "nsswitch.conf: $db has jwt after files"
done
cmp -s "$PROFILE/system-auth" "$PROFILE/password-auth"
ok $? "password-auth is system-auth (the same stack for remote logins)"

# ---- the rendered system-auth run by Linux-PAM ----
mkdir "$SCRATCH/pam.d" "$SCRATCH/etc"
render "$PROFILE/system-auth" with-faillock |
	sed "s|pam_jwt\.so|$PAM_MODULE config=$SCRATCH/pam_jwt.conf|" >"$SCRATCH/pam.d/system-auth"
# pam_faillock keeps its tallies in /run/faillock: a tmpfs of its own in the namespace (inside.sh).
hash=$(openssl passwd -6 'Local-pass-1')
cp /etc/passwd "$SCRATCH/etc/passwd" && cp /etc/shadow "$SCRATCH/etc/shadow" &&
	echo "pjlocal:x:4242:4242::/nonexistent:/bin/sh" >>"$SCRATCH/etc/passwd" &&
	echo "pjlocal:$hash:19000:0:99999:7:::" >>"$SCRATCH/etc/shadow" && chmod 640 "$SCRATCH/etc/shadow" ||
	{ echo "Bail out! cannot make the password files"; exit 1; }
cat >"$SCRATCH/inside.sh" <<EOF
#!/bin/sh
mount --make-rprivate / && mount --bind "$SCRATCH/pam.d" /etc/pam.d && mount --bind "$SCRATCH/etc/passwd" /etc/passwd &&
	mount --bind "$SCRATCH/etc/shadow" /etc/shadow && mkdir -p /run/faillock && mount -t tmpfs none /run/faillock ||
	exit 99
user=\$1; shift
"$PAMTESTER" system-auth "\$user" "\$@" <"$SCRATCH/answer"
EOF
chmod +x "$SCRATCH/inside.sh"
run() { # ANSWER USER OPERATION... -> pamtester's exit status
	answer=$1
	shift
	printf '%s\n' "$answer" >"$SCRATCH/answer"
	unshare -m "$SCRATCH/inside.sh" "$@" >"$SCRATCH/out" 2>&1
}

run "$(mint "$SCRATCH" ES256 "$ISS" alice)" alice authenticate
rc=$?
ok $rc "a token logs alice in through system-auth"
[ $rc -eq 0 ] || sed 's/^/# /' "$SCRATCH/out"
run 'Local-pass-1' pjlocal authenticate acct_mgmt
rc=$?
ok $rc "a local user's password passes pam_jwt (ignore_non_jwt) and pam_unix, auth and account"
[ $rc -eq 0 ] || sed 's/^/# /' "$SCRATCH/out"
run 'wrong-pass' pjlocal authenticate
[ $? -ne 0 ]
ok $? "a wrong password is refused"
run "$(mint "$SCRATCH" ES256 "$ISS" alice -3600)" alice authenticate
[ $? -ne 0 ]
ok $? "an expired token is refused (and is no password either)"
run "$(mint "$SCRATCH" ES256 "$ISS" alice)" bob authenticate
[ $? -ne 0 ]
ok $? "alice's token does not log in bob"
[ ! -e /etc/pam.d/system-auth ] || ! grep -q "$SCRATCH" /etc/pam.d/system-auth
ok $? "the host's /etc/pam.d was not changed"
done_testing
