#!/bin/sh
# test_device_services.sh: the device flow (mode=device, mode=auto) through the real sshd and sudo.
# SPDX-License-Identifier: BSD-3-Clause
# sshd with keyboard-interactive, in the private mount namespace of the service tests (svc_lib.sh), against
# the test OpenID Provider (oidc_device_server.py); the test plays the person.
. "${TOP_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"
. "$TOP_SRCDIR/tests/svc_lib.sh"

PYTHON=${PYTHON:-/usr/bin/python3}
svc_need_sshd
command -v sudo >/dev/null 2>&1 || skip_all "no sudo"
command -v openssl >/dev/null 2>&1 || skip_all "no openssl CLI"
svc_enter "$0" "$@"
svc_setup
svc_syslog

# ---- the IdP over HTTPS on 127.0.0.1 ----
start_idp '{"interval": 1}'

# The configuration: the device issuer, the store and NSS of the namespace, no service rules.
DCONF="$SCRATCH/device.conf"
cat >"$DCONF" <<EOF
[global]
state_dir = /var/lib/pam_jwt
cache_dir = $SCRATCH/cache
nss_preauth = yes
[issuer idp]
issuer = $DISS
audience = pam-cli
algorithms = ES256
tls_ca_file = $SCRATCH/ca.pem
groups_claim = groups
group_map = devs:sudo
device_client_id = pam-cli
device_timeout = 50
EOF
chmod 644 "$DCONF"
"$PAM_JWT" user init --config "$DCONF" >/dev/null || { echo "Bail out! pam-jwt user init failed"; exit 1; }

# pam.d/SERVICE with pam_jwt.so MODE as the only way in; the rest of the stack as Debian has it.
device_pamd() {
	{
		printf 'auth required %s config=%s mode=%s\n' "$PAM_MODULE" "$DCONF" "$2"
		printf 'account [success=done ignore=ignore default=bad] %s config=%s\n' "$PAM_MODULE" "$DCONF"
		echo "@include common-account"
		echo "@include common-session-noninteractive"
	} >"$SCRATCH/pam.d/$1"
}

# ---- sshd: keyboard-interactive, mode=device ----
device_pamd sshd device
svc_sshd "PubkeyAuthentication no
PasswordAuthentication no
KbdInteractiveAuthentication yes
UsePAM yes
LoginGraceTime 120
MaxAuthTries 3"

# The client's askpass keeps each prompt (the whole text, as the person would read it) and presses Enter.
cat >"$SCRATCH/enter-askpass" <<EOF
#!/bin/sh
printf '%s\n' "\$1" >>"$SCRATCH/prompts"
echo
EOF
chmod 755 "$SCRATCH/enter-askpass"
# sshc USER [COMMAND]: ssh in the background with that askpass; its exit status in $rc.
sshc() {
	user=$1
	shift
	: >"$SCRATCH/prompts"
	SSH_ASKPASS="$SCRATCH/enter-askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=:0 LC_ALL=C.UTF-8 timeout 90 \
		setsid -w ssh -F /dev/null -p "$PORT" -o BatchMode=no -o StrictHostKeyChecking=no \
		-o UserKnownHostsFile=/dev/null -o LogLevel=INFO -o PreferredAuthentications=keyboard-interactive \
		-o PubkeyAuthentication=no -o NumberOfPasswordPrompts=1 -o ConnectTimeout=10 "$user@127.0.0.1" \
		"${@:-true}" </dev/null >"$SCRATCH/out" 2>"$SCRATCH/err" &
	spid=$!
}

sshd_getent passwd dora >/dev/null
is "dora is unknown to the host; nss_preauth resolves her name for sshd" "$?" 0
log_mark
sshc dora 'id -un; id -Gn'
idp_person "$SCRATCH/prompts" approve dora
wait $spid
rc=$?
is "ssh, mode=device: dora signs in with the browser and is in (exit $rc)" "$rc:$(head -1 "$SCRATCH/out")" "0:dora"
[ -s "$SCRATCH/err" ] && diag "ssh: $(head -5 "$SCRATCH/err")"
grep -q 'and enter the code' "$SCRATCH/prompts" && grep -q 'Press Enter when you have approved the sign-in: ' \
	"$SCRATCH/prompts" && grep -q '^or scan this QR code:' "$SCRATCH/prompts"
ok $? "ssh: URL, code and QR code reached the client in the text of one prompt"
grep -q "^or open $DISS/activate?user_code=" "$SCRATCH/prompts" &&
	grep -q "$(printf '\342\226\210\342\226\210')" "$SCRATCH/prompts"
ok $? "ssh: the complete URL in plain text and the half blocks arrive unmangled"
is "ssh: one prompt only" "$(grep -c 'Press Enter when you have approved' "$SCRATCH/prompts")" 1
logged "device flow sign-in for dora with issuer idp" && logged "accepted token for dora"
ok $? "sshd's syslog: a device sign-in and an accepted token for dora"
grep -q '\bsudo\b' "$SCRATCH/out"
ok $? "dora's groups include sudo (group_map devs:sudo): $(sed -n 2p "$SCRATCH/out")"
DORA_UID=$(getent passwd dora | cut -d: -f3)

log_mark
sshc dora
idp_person "$SCRATCH/prompts" approve eve
wait $spid
rc=$?
[ $rc -ne 0 ] && logged "refused token for dora: token is for user eve, not dora"
ok $? "ssh: eve approves dora's login: refused (exit $rc, logged)"
grep -q 'This sign-in was approved with another account than dora: refused' "$SCRATCH/err" &&
	! grep -q eve "$SCRATCH/err" && logged "device flow: the sign-in for dora was approved by eve"
ok $? "ssh: and the client shows why, without naming the account that approved (the log does)"
grep -q "Approve it only if you are signing in to .* as dora yourself" "$SCRATCH/prompts"
ok $? "ssh: the instructions name the host and the user"
log_mark
sshc dora
idp_person "$SCRATCH/prompts" deny dora
wait $spid
rc=$?
[ $rc -ne 0 ] && logged "the sign-in was denied at the IdP" && grep -q 'The sign-in was denied' "$SCRATCH/err"
ok $? "ssh: denied at the IdP: refused, and the client shows it (exit $rc)"

# ---- sshd with mode=auto: Enter for the browser ----
device_pamd sshd auto
log_mark
sshc dora 'id -un'
idp_person "$SCRATCH/prompts" approve dora
wait $spid
rc=$?
is "ssh, mode=auto: Enter, then the browser (exit $rc)" "$rc:$(cat "$SCRATCH/out")" "0:dora"
head -1 "$SCRATCH/prompts" | grep -q 'JWT (or press Enter to sign in with a browser): '
ok $? "ssh, mode=auto: the first prompt offers both"

# ---- sudo: dora (a token user now) runs sudo, mode=device ----
device_pamd sudo device
printf 'Defaults !lecture, !fqdn, timestamp_timeout=0\nroot ALL=(ALL:ALL) ALL\n%%sudo ALL=(ALL:ALL) ALL\n' \
	>"$SCRATCH/sudoers"
chmod 440 "$SCRATCH/sudoers"
mount --bind "$SCRATCH/sudoers" /etc/sudoers || skip_all "cannot bind /etc/sudoers"
# sudo_as USER: sudo -S -k id -un as USER, Enter on standard input; the prompts go to $SCRATCH/sudo.err,
# PAM's informational messages to $SCRATCH/sudo.out (sudo prints them on stdout).
sudo_as() {
	: >"$SCRATCH/sudo.err"
	# setsid: no controlling terminal, so sudo shows PAM's messages on stderr as well (else on /dev/tty)
	(sleep 1; echo) | setsid -w setpriv --reuid="$(id -u "$1")" --regid="$(id -g "$1")" --init-groups \
		env -i PATH=/usr/bin:/bin $SAN_ENV LC_ALL=C.UTF-8 timeout 90 sudo -S -k id -un >"$SCRATCH/sudo.out" 2>"$SCRATCH/sudo.err" &
	spid=$!
}
log_mark
sudo_as dora
idp_person "$SCRATCH/sudo.err" approve dora
wait $spid
rc=$?
is "sudo, mode=device: dora approves in the browser and runs id as root (exit $rc)" \
	"$rc:$(cat "$SCRATCH/sudo.out")" "0:root"
grep -q 'Press Enter when you have approved the sign-in: ' "$SCRATCH/sudo.err" &&
	grep -q '^or scan this QR code:' "$SCRATCH/sudo.err"
ok $? "sudo: the instructions and the QR code are in its prompt"
logged "device flow sign-in for dora with issuer idp" && logged "accepted token for dora"
ok $? "sudo's syslog: a device sign-in and an accepted token for dora"
log_mark
sudo_as dora
idp_person "$SCRATCH/sudo.err" approve eve
wait $spid
rc=$?
[ $rc -ne 0 ] && cat "$SCRATCH/sudo.out" "$SCRATCH/sudo.err" |
	grep -q 'This sign-in was approved with another account than dora: refused'
ok $? "sudo: eve approving dora's sudo is refused with a clear message (exit $rc)"

# ---- neither code in any log ----
leaks=0
while read -r user_code device_code; do
	grep -qF -e "$device_code" "$SCRATCH/syslog" "$SCRATCH/sshd.log" && leaks=$((leaks + 1))
	grep -qF -e "$user_code" "$SCRATCH/syslog" "$SCRATCH/sshd.log" && leaks=$((leaks + 1))
done <"$IDP/codes"
is "no device code or user code in syslog or sshd's log ($(wc -l <"$IDP/codes") grants)" "$leaks" 0
is "dora kept her uid throughout" "$(getent passwd dora | cut -d: -f3)" "$DORA_UID"
[ -s "$IDP/errors" ] && diag "the test IdP failed: $(cat "$IDP/errors")"
done_testing
