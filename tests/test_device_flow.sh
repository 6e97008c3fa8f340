#!/bin/sh
# test_device_flow.sh: the device flow (RFC 8628) against a real OpenID Provider on 127.0.0.1 over HTTPS
# SPDX-License-Identifier: BSD-3-Clause
# (tests/oidc_device_server.py), the test playing the person who approves: pam-jwt login first, then
# pam_jwt.so with mode=device and mode=auto through pamtester in a private mount namespace.
. "$(dirname "$0")/lib.sh"

need_root
PYTHON=${PYTHON:-/usr/bin/python3}
[ -x "$PYTHON" ] || skip_all "no $PYTHON"
command -v openssl >/dev/null 2>&1 || skip_all "no openssl CLI"
make_scratch
mkdir -m 755 "$SCRATCH/cache" "$SCRATCH/state"

# ---- the IdP: a CA, its server certificate, a signing key in the JWKS and one that is not ----
start_idp '{}' 900
ISS=$DISS

# conf FILE [EXTRA ISSUER LINES...]: a configuration for the test IdP, keys by discovery.
conf() {
	f=$1
	shift
	{
		printf '[global]\ncache_dir = %s\nstate_dir = %s\n' "$SCRATCH/cache" "$SCRATCH/state"
		printf '[issuer idp]\nissuer = %s\nalgorithms = ES256\ntls_ca_file = %s\ngroups_claim = groups\n' \
			"$ISS" "$SCRATCH/ca.pem"
		for line in "$@"; do printf '%s\n' "$line"; done
	} >"$f"
	chmod 644 "$f"
}
CONF="$SCRATCH/pam_jwt.conf"
conf "$CONF" "audience = pam-cli" "device_client_id = pam-cli" "device_timeout = 30"

# idp_config JSON: the server's behaviour from now on.
idp_config() { printf '%s\n' "$1" >"$IDP/config.json"; }
count() { cat "$IDP/count/$1" 2>/dev/null || echo 0; }

# cli_login ACTION LOGIN [ARGS...]: pam-jwt login in the background, the person acting (ACTION "" : nobody
# does anything), then its exit status in $rc, stdout in $SCRATCH/out, stderr in $SCRATCH/err.
cli_login() {
	action=$1
	who=$2
	shift 2
	: >"$SCRATCH/err"
	"$PAM_JWT" login "$@" >"$SCRATCH/out" 2>"$SCRATCH/err" &
	pid=$!
	[ -z "$action" ] || idp_person "$SCRATCH/err" "$action" "$who"
	wait $pid
	rc=$?
	cat "$SCRATCH/err" "$SCRATCH/out" >>"$SCRATCH/all_err"
}

# ---- pam-jwt login: approval ----
idp_config '{"interval": 1}'
cli_login approve alice --config "$CONF" --issuer idp --user alice --token-file "$SCRATCH/tok"
is "approved: pam-jwt login exits 0" "$rc" 0
grep -q '^username: alice$' "$SCRATCH/out" && grep -q '^accepted$' "$SCRATCH/out"
ok $? "approved: the verified identity is printed (username alice)"
grep -q "^issuer:   idp ($ISS)" "$SCRATCH/out" && grep -q '^groups:   devs$' "$SCRATCH/out"
ok $? "approved: issuer and groups shown"
is "discovery, one device authorization request" "$(count .well-known_openid-configuration):$(count device)" "2:1"
form=$("$PYTHON" -c 'import json,sys; f=json.load(open(sys.argv[1])); print(f["client_id"], f["scope"], "resource" in f, "audience" in f, f["basic_auth"])' "$IDP/last_device_form.json")
is "device request: client_id, default scopes, no resource/audience, public client" "$form" \
	"pam-cli openid profile False False False"
[ "$(stat -c %a "$SCRATCH/tok")" = 600 ] && printf '%s' "$(cat "$SCRATCH/tok")" |
	"$PAM_JWT" verify --config "$CONF" --user alice >/dev/null 2>&1
ok $? "--token-file: written 0600, and pam-jwt verify accepts that token for alice"
grep -q 'Waiting for the sign-in to be approved' "$SCRATCH/err" && grep -q "^or open $ISS/activate?user_code=" "$SCRATCH/err"
ok $? "the instructions: URL, code, the complete URL in plain text"

# The QR code on stderr, painted as a light-on-dark terminal shows it, decodes to verification_uri_complete.
qr_decode() {
	"$PYTHON" - "$1" "$SCRATCH/qr.pgm" <<'EOF' || return 1
import sys
cells = {" ": 0, "\u2584": 1, "\u2580": 2, "\u2588": 3}
lines = [l for l in open(sys.argv[1], encoding="utf-8").read().split("\n") if l and set(l) <= set(cells)]
if not lines:
    sys.exit(1)
S, M = 4, 8
w, h = len(lines[0]) * S + 2 * M, len(lines) * 2 * S + 2 * M
px = bytearray(w * h)
for r, line in enumerate(lines):
    for c, ch in enumerate(line):
        for dy in range(2 * S):
            on = cells[ch] & (2 if dy < S else 1)
            for dx in range(S):
                px[(M + r * 2 * S + dy) * w + M + c * S + dx] = 255 if on else 0
open(sys.argv[2], "wb").write(b"P5\n%d %d\n255\n" % (w, h) + bytes(px))
EOF
	no_san zbarimg --quiet --raw "$SCRATCH/qr.pgm" 2>/dev/null
}
complete=$(sed -n 's/^or open \(.*\)$/\1/p' "$SCRATCH/err")
width=$("$PYTHON" -c 'import sys; print(max(len(l) for l in open(sys.argv[1], encoding="utf-8").read().split("\n")))' "$SCRATCH/err")
is "the QR code decodes back to verification_uri_complete (zbarimg)" "$(qr_decode "$SCRATCH/err")" "$complete"
[ "$width" -le 80 ]
ok $? "every line of the instructions fits 80 columns ($width)"

# ---- denial, expiry, device_timeout ----
cli_login deny alice --config "$CONF" --user alice
[ $rc -eq 1 ] && grep -q 'The sign-in was denied' "$SCRATCH/err" && grep -q 'denied at the IdP' "$SCRATCH/out"
ok $? "denied: refused with a message (exit $rc)"

idp_config '{"interval": 1, "expires_in": 3}'
cli_login "" "" --config "$CONF"
[ $rc -eq 1 ] && grep -q 'no approval within 3 s' "$SCRATCH/out" && grep -q 'not completed in time' "$SCRATCH/err"
ok $? "nobody approves: the client stops at expires_in (3 s) by itself (exit $rc)"
polls=$(wc -l <"$IDP/polls")
[ "$polls" -ge 1 ] && [ "$polls" -le 3 ]
ok $? "and polled at most once a second until then ($polls polls)"

conf "$SCRATCH/short.conf" "audience = pam-cli" "device_client_id = pam-cli" "device_timeout = 10"
idp_config '{"interval": 4, "expires_in": 600}'
cli_login "" "" --config "$SCRATCH/short.conf"
[ $rc -eq 1 ] && grep -q 'no approval within 10 s (expires_in 600, device_timeout 10)' "$SCRATCH/out"
ok $? "device_timeout (10 s) ends the wait before expires_in (600 s) (exit $rc)"
polls=$(wc -l <"$IDP/polls")
[ "$polls" -ge 1 ] && [ "$polls" -le 2 ]
ok $? "interval 4 s: at most two polls in those 10 s ($polls)"

# ---- slow_down and the interval ----
idp_config '{"interval": 1, "slow_down": 1}'
cli_login approve alice --config "$CONF" --user alice
is "slow_down once, then approved: exit 0" "$rc" 0
gap=$("$PYTHON" -c 'import sys; t=[float(x) for x in open(sys.argv[1])]; print(int(min(b-a for a,b in zip(t,t[1:]))) if len(t) > 1 else -1)' "$IDP/polls")
[ "$gap" -ge 6 ]
ok $? "after slow_down the client waits interval + 5 s (shortest gap $gap s)"
is "no poll in any run came sooner than the interval allowed" "$(count too_fast)" 0
# the check above can see a fast poll: two token requests in a row, by hand
idp_config '{"interval": 5}'
"$PYTHON" - "$ISS" "$SCRATCH/ca.pem" <<'EOF'
import ssl, sys, urllib.request, urllib.parse, json
ctx = ssl.create_default_context(cafile=sys.argv[2])
def post(path, form):
    req = urllib.request.Request(sys.argv[1] + path, urllib.parse.urlencode(form).encode())
    try:
        return json.load(urllib.request.urlopen(req, context=ctx, timeout=10))
    except urllib.error.HTTPError as e:
        return json.load(e)
d = post("/device", {"client_id": "pam-cli", "scope": "openid"})
post("/token", {"grant_type": "urn:ietf:params:oauth:grant-type:device_code", "device_code": d["device_code"],
                "client_id": "pam-cli"})
EOF
is "control: a poll sooner than the interval is seen by the server" "$(count too_fast)" 1

# ---- the wrong account, a key not in the JWKS, the IdP unreachable or failing ----
idp_config '{"interval": 1}'
cli_login approve bob --config "$CONF" --user alice
[ $rc -eq 1 ] && grep -q 'This sign-in was approved with another account than alice: refused' "$SCRATCH/err"
ok $? "approved with another account: refused with a clear message (exit $rc)"
grep -q "^Sign-in for alice on .* (pam-jwt login)\.$" "$SCRATCH/err" &&
	grep -q "^Approve it only if you are signing in to .* as alice yourself\.$" "$SCRATCH/err"
ok $? "the instructions name the host, the program and the user (RFC 8628 5.4)"
cli_login badkey alice --config "$CONF" --user alice
[ $rc -eq 1 ] && grep -q 'token was refused' "$SCRATCH/err" && grep -q 'status:   token refused' "$SCRATCH/out"
ok $? "a token signed with a key not in the JWKS: refused by pj_verify (exit $rc)"
grep -q 'signature' "$SCRATCH/out"
ok $? "and the reason is the signature ($(head -1 "$SCRATCH/out"))"

closed_port
conf "$SCRATCH/down.conf" "audience = pam-cli" "device_client_id = pam-cli" \
	"jwks_uri = https://127.0.0.1:$CLOSED_PORT/jwks" "http_connect_timeout = 1"
sed -i "s|^issuer = .*|issuer = https://127.0.0.1:$CLOSED_PORT|" "$SCRATCH/down.conf"
cli_login "" "" --config "$SCRATCH/down.conf"
[ $rc -eq 1 ] && grep -q 'cannot be reached' "$SCRATCH/err" && grep -q 'status:   no usable keys' "$SCRATCH/out"
ok $? "the IdP unreachable at the start: refused at once (exit $rc)"
idp_config '{"device_status": 500}'
cli_login "" "" --config "$CONF"
[ $rc -eq 1 ] && grep -q 'HTTP status 500' "$SCRATCH/out"
ok $? "the device endpoint failing (HTTP 500): refused (exit $rc)"

devices_before=$(count device)
# ---- what the IdP says is held to the rules of key fetching and of RFC 8628 ----
idp_config '{"interval": 1, "endpoint_scheme": "http"}'
cli_login "" "" --config "$CONF"
[ $rc -eq 1 ] && grep -q 'device_authorization_endpoint is not an https URL' "$SCRATCH/out" &&
	[ "$(count device)" = "$devices_before" ]
ok $? "discovery naming a plain http device endpoint: refused, nothing sent there (exit $rc)"
idp_config '{"interval": 1, "verification_scheme": "http"}'
cli_login "" "" --config "$CONF"
[ $rc -eq 1 ] && grep -q 'verification_uri is not an https URL' "$SCRATCH/out" &&
	! grep -q 'enter the code' "$SCRATCH/err"
ok $? "a plain http verification_uri: refused and never shown (exit $rc)"
idp_config '{"interval": 1, "discovery_issuer": "https://evil.example.com"}'
cli_login "" "" --config "$CONF"
[ $rc -eq 1 ] && grep -q 'discovery document is for another issuer' "$SCRATCH/out"
ok $? "a discovery document for another issuer: refused (exit $rc)"
for case in 'expired_token:the sign-in request expired at the IdP:token refused' \
	'invalid_grant:the IdP no longer knows this sign-in request:token refused' \
	'server_error:error "server_error":no usable keys'; do
	code=${case%%:*}
	rest=${case#*:}
	idp_config "{\"interval\": 1, \"token_error\": \"$code\"}"
	cli_login "" "" --config "$CONF"
	[ $rc -eq 1 ] && grep -qF "${rest%%:*}" "$SCRATCH/out" && grep -q "status:   ${rest#*:}" "$SCRATCH/out"
	ok $? "the token endpoint answers $code: refused, $(sed -n 2p "$SCRATCH/out") (exit $rc)"
done
conf "$SCRATCH/small.conf" "audience = pam-cli" "device_client_id = pam-cli" "http_max_body = 64K"
idp_config '{"interval": 1, "pad_token_answer": 100000}'
cli_login approve alice --config "$SCRATCH/small.conf" --user alice
[ $rc -eq 1 ] && grep -q 'larger than 65536 bytes' "$SCRATCH/out"
ok $? "a token answer over http_max_body: refused (exit $rc)"
sed 's/^\[global\]$/[global]\nmax_token_size = 1K/' "$CONF" >"$SCRATCH/maxtok.conf"
chmod 644 "$SCRATCH/maxtok.conf"
idp_config "{\"interval\": 1, \"id_token_claims\": {\"pad\": \"$(head -c 1200 /dev/zero | tr '\0' x)\"}}"
cli_login approve alice --config "$SCRATCH/maxtok.conf" --user alice
[ $rc -eq 1 ] && grep -q 'id_token is larger than max_token_size (1024 bytes)' "$SCRATCH/out"
ok $? "an ID token over max_token_size: refused (exit $rc)"

# ---- the client secret: HTTP Basic from a root-only file ----
idp_config '{"interval": 1, "client_secret": "s3cr&t value"}'
printf 's3cr&t value\n' >"$SCRATCH/secret"
chmod 600 "$SCRATCH/secret"
conf "$SCRATCH/secret.conf" "audience = pam-cli" "device_client_id = pam-cli" \
	"device_client_secret_file = $SCRATCH/secret"
cli_login approve alice --config "$SCRATCH/secret.conf" --user alice
[ $rc -eq 0 ] && grep -q '"basic_auth": true' "$IDP/last_device_form.json"
ok $? "confidential client: the secret goes as HTTP Basic, approved (exit $rc)"
chmod 640 "$SCRATCH/secret"
cli_login "" "" --config "$SCRATCH/secret.conf"
[ $rc -eq 2 ] && grep -q 'readable by group or others (mode 0640)' "$SCRATCH/out"
ok $? "a secret file readable by the group is refused (exit $rc)"
chmod 600 "$SCRATCH/secret"
chown 1:1 "$SCRATCH/secret"
cli_login "" "" --config "$SCRATCH/secret.conf"
[ $rc -eq 2 ] && grep -q 'not owned by root' "$SCRATCH/out"
ok $? "a secret file not owned by root is refused (exit $rc)"
chown 0:0 "$SCRATCH/secret"
cli_login "" "" --config "$CONF"
[ $rc -eq 2 ] && grep -q 'invalid_client' "$SCRATCH/out"
ok $? "no secret where the IdP wants one: invalid_client, a configuration error (exit $rc)"

# ---- the access token as the credential ----
idp_config '{"interval": 1}'
conf "$SCRATCH/at.conf" "audience = pam-api" "device_client_id = pam-cli" "device_audience = pam-api" \
	"device_scopes = login"
cli_login approve alice --config "$SCRATCH/at.conf" --user alice --token-file "$SCRATCH/at"
form=$("$PYTHON" -c 'import json,sys; f=json.load(open(sys.argv[1])); print(f["scope"], f["audience"])' "$IDP/last_device_form.json")
[ $rc -eq 0 ] && [ "$form" = "login pam-api" ] && cut -d. -f2 "$SCRATCH/at" | tr '_-' '/+' | base64 -d 2>/dev/null |
	grep -q '"aud": "pam-api"'
ok $? "device_audience: the access token (aud pam-api) is the credential (exit $rc, form $form)"
conf "$SCRATCH/res.conf" "audience = https://api.example.com/" "device_client_id = pam-cli" \
	"device_resource = https://api.example.com/"
cli_login approve alice --config "$SCRATCH/res.conf" --user alice
[ $rc -eq 0 ] && grep -q '"resource": "https://api.example.com/"' "$IDP/last_device_form.json"
ok $? "device_resource: sent as resource, the access token accepted (exit $rc)"
# per-host audience: pam-jwt login on host "hosta.example.com" (a UTS namespace) asks for a token for it alone
if unshare -u true 2>/dev/null; then
	printf '#!/bin/sh\nexec unshare -u sh -c '"'"'hostname "$0" && exec "$@"'"'"' "$PJ_HOST" "%s" "$@"\n' "$PAM_JWT" \
		>"$SCRATCH/on-host"
	chmod 755 "$SCRATCH/on-host"
	conf "$SCRATCH/host.conf" "audience = https://%H/" "device_client_id = pam-cli" "device_resource = https://%H/"
	PAM_JWT_REAL=$PAM_JWT PAM_JWT="$SCRATCH/on-host"
	PJ_HOST=hosta.example.com
	export PJ_HOST
	cli_login approve alice --config "$SCRATCH/host.conf" --user alice \
		--token-file "$SCRATCH/host-a"
	[ $rc -eq 0 ] && grep -q '"resource": "https://hosta.example.com/"' "$IDP/last_device_form.json"
	ok $? "device_resource = https://%H/: asks for this host's resource and accepts the token (exit $rc)"
	PJ_HOST=hostb.example.com "$PAM_JWT" verify --config "$SCRATCH/host.conf" <"$SCRATCH/host-a" >"$SCRATCH/out" 2>&1
	[ $? -eq 1 ] && grep -q 'aud does not name a configured audience (for this host)' "$SCRATCH/out"
	ok $? "the token minted for hosta is refused on hostb"
	PAM_JWT=$PAM_JWT_REAL
	unset PJ_HOST
else
	diag "no UTS namespace: the per-host device_resource test is skipped"
fi

# ---- DPoP (RFC 9449): pam-jwt login --dpop gets a token bound to a new key, through the IdP's nonce ----
idp_config '{"interval": 1, "dpop": true, "dpop_nonce": true}'
cli_login approve alice --config "$CONF" --user alice --token-file "$SCRATCH/dpop-tok" --dpop
jkt=$("$PAM_JWT" dpop jkt --key "$SCRATCH/dpop-tok.key" 2>/dev/null)
[ $rc -eq 0 ] && [ "$(stat -c %a "$SCRATCH/dpop-tok.key")" = 600 ] && [ ${#jkt} -eq 43 ] &&
	cut -d. -f2 "$SCRATCH/dpop-tok" | tr '_-' '/+' | base64 -d 2>/dev/null | grep -q "\"jkt\": \"$jkt\""
ok $? "pam-jwt login --dpop: the token's cnf.jkt is the new key's, kept beside it 0600 (exit $rc)"
facts=$("$PYTHON" -c 'import json,sys; f=json.load(open(sys.argv[1])); print(f["htm"], f["alg"], f["nonce"] is not None, f["htu"].endswith("/token"))' "$IDP/last_dpop.json")
is "the token request's proof: htm POST, ES256, the IdP's nonce, htu the token endpoint" "$facts" "POST ES256 True True"
[ "$(count use_dpop_nonce)" -ge 1 ]
ok $? "the IdP's use_dpop_nonce answer was retried with its DPoP-Nonce ($(count use_dpop_nonce) times)"
printf '%s\n' "$(cat "$SCRATCH/dpop-tok")" | "$PAM_JWT" verify --config "$CONF" --user alice \
	--dpop "$(printf '%s' "$(cat "$SCRATCH/dpop-tok")" | "$PAM_JWT" dpop proof --key "$SCRATCH/dpop-tok.key" \
		--htu "pam://$(hostname)/sshd" --nonce n1)" --nonce n1 >/dev/null 2>&1
is "the bound token and a proof from its key pass pam-jwt verify --dpop" "$?" 0
printf '%s\n' "$(cat "$SCRATCH/dpop-tok")" | "$PAM_JWT" verify --config "$CONF" --user alice >"$SCRATCH/out" 2>&1
[ $? -eq 1 ] && grep -q "no DPoP proof came with it" "$SCRATCH/out"
ok $? "and without a proof it is refused"
cli_login approve alice --config "$CONF" --user alice --token-file "$SCRATCH/dpop-ed" --dpop=EdDSA
facts=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["alg"])' "$IDP/last_dpop.json")
is "--dpop=EdDSA: an Ed25519 key (exit $rc)" "$rc:$facts" "0:EdDSA"
cli_login approve alice --config "$CONF" --user alice
[ $rc -ne 0 ] && grep -q "invalid_dpop_proof" "$SCRATCH/out"
ok $? "an IdP that wants DPoP refuses a login without it (exit $rc)"
cli_login "" "" --config "$CONF" --dpop
is "--dpop without --token-file is a usage error" "$rc" 2
idp_config '{"interval": 1}'

# ---- the ID token's audience and azp ----
idp_config '{"interval": 1, "id_token_claims": {"aud": ["pam-cli", "other"]}}'
cli_login approve alice --config "$CONF" --user alice
[ $rc -eq 1 ] && grep -q 'azp is not device_client_id' "$SCRATCH/out"
ok $? "ID token with two audiences and no azp: refused (exit $rc)"
idp_config '{"interval": 1, "id_token_claims": {"aud": ["pam-cli", "other"], "azp": "pam-cli"}}'
cli_login approve alice --config "$CONF" --user alice
is "ID token with two audiences and azp = the client: accepted" "$rc" 0
idp_config '{"interval": 1, "id_token_claims": {"azp": "someone-else"}}'
cli_login approve alice --config "$CONF" --user alice
[ $rc -eq 1 ] && grep -q 'azp is not device_client_id' "$SCRATCH/out"
ok $? "ID token whose azp is another client: refused (exit $rc)"
conf "$SCRATCH/aud2.conf" "audience = pam-cli other" "device_client_id = pam-cli"
idp_config '{"interval": 1, "id_token_claims": {"aud": "other"}}'
cli_login approve alice --config "$SCRATCH/aud2.conf" --user alice
[ $rc -eq 1 ] && grep -q "aud does not hold device_client_id" "$SCRATCH/out"
ok $? "ID token for another configured audience (not the client id): refused (exit $rc)"
idp_config '{"interval": 1}'
printf '%s' "$(cat "$SCRATCH/tok")" | "$PAM_JWT" verify --config "$SCRATCH/aud2.conf" --user alice >/dev/null 2>&1
is "pasted tokens keep the plain audience rule (no azp needed)" "$?" 0

# ---- no verification_uri_complete: the QR code holds verification_uri ----
idp_config '{"interval": 1, "omit_complete": true}'
cli_login approve alice --config "$CONF" --user alice
[ $rc -eq 0 ] && ! grep -q '^or open' "$SCRATCH/err"
ok $? "without verification_uri_complete: URL and code only, approved (exit $rc)"
is "and the QR code holds verification_uri" "$(qr_decode "$SCRATCH/err")" "$ISS/activate"

# ---- usage ----
"$PAM_JWT" login --config "$CONF" --issuer nosuch >/dev/null 2>&1
is "unknown --issuer: exit 2" "$?" 2
conf "$SCRATCH/nodev.conf" "audience = pam-cli"
"$PAM_JWT" login --config "$SCRATCH/nodev.conf" >/dev/null 2>&1
is "no issuer with device_client_id: exit 2" "$?" 2

# ---- pam_jwt.so: mode=device and mode=auto, the user created through NSS ----
# Each login runs in its own private mount namespace where $SCRATCH/varlib is /var/lib (the store path is
# compiled into libnss_jwt.so.2) and a test nsswitch.conf is bound over /etc/nsswitch.conf.
DEVICE_PAM="$TOP_BUILDDIR/tests/device-pam"
NSS_SO="$TOP_BUILDDIR/.libs/libnss_jwt.so.2"
if unshare -m true 2>/dev/null && [ -x "$DEVICE_PAM" ] && [ -e "$NSS_SO" ]; then
	mkdir -m 755 "$SCRATCH/varlib" "$SCRATCH/varlib/pam_jwt" "$SCRATCH/pam.d" "$SCRATCH/lib"
	cp -L "$NSS_SO" "$SCRATCH/lib/libnss_jwt.so.2"
	printf 'passwd: files jwt\ngroup: files jwt\nshadow: files\n' >"$SCRATCH/nsswitch.conf"
	{
		echo 'mount --make-rprivate / && mount --bind "$PJ_SCRATCH/varlib" /var/lib &&'
		echo '	mount --bind "$PJ_SCRATCH/nsswitch.conf" /etc/nsswitch.conf || exit 99'
		echo 'LD_LIBRARY_PATH="$PJ_SCRATCH/lib" exec "$@"'
	} >"$SCRATCH/inside.sh"
	ns() { PJ_SCRATCH="$SCRATCH" unshare -m sh "$SCRATCH/inside.sh" "$@"; }
	PCONF="$SCRATCH/pam.conf"
	conf "$PCONF" "audience = pam-cli" "device_client_id = pam-cli" "device_timeout = 30"
	sed -i "s|^state_dir = .*|state_dir = /var/lib/pam_jwt|" "$PCONF"
	for mode in device auto token bogus; do
		printf 'auth required %s config=%s mode=%s\naccount required pam_permit.so\n' \
			"$PAM_MODULE" "$PCONF" "$mode" >"$SCRATCH/pam.d/pj-$mode"
	done
	# pam_login ACTION LOGIN SERVICE USER INPUT: device-pam in the background with INPUT as the answers, the
	# person acting as LOGIN; exit status in $rc, messages in $SCRATCH/err, result in $SCRATCH/out.
	pam_login() {
		printf "$5" >"$SCRATCH/input"
		: >"$SCRATCH/err"
		# shellcheck disable=SC2086 # PAM_LOGIN_WRAP: a command prefix (memcheck below), or nothing
		ns ${PAM_LOGIN_WRAP:-} "$DEVICE_PAM" "$SCRATCH/pam.d" "$3" "$4" "$SCRATCH/syslog" <"$SCRATCH/input" \
			>"$SCRATCH/out" 2>"$SCRATCH/err" &
		pid=$!
		[ -z "$1" ] || idp_person "$SCRATCH/err" "$1" "$2"
		wait $pid
		rc=$?
		cat "$SCRATCH/err" "$SCRATCH/out" >>"$SCRATCH/all_err"
	}
	idp_config '{"interval": 1}'

	ns getent passwd alice >/dev/null
	is "before: alice is unknown to NSS" "$?" 2
	pam_login approve alice pj-device alice '\n'
	is "mode=device, approved: authenticated (exit $rc)" "$(cat "$SCRATCH/out")" "result: Success"
	grep -q '^Press Enter when you have approved the sign-in: ' "$SCRATCH/err" &&
		grep -q 'enter the code' "$SCRATCH/err" && grep -q '^or scan this QR code:' "$SCRATCH/err"
	ok $? "mode=device: URL, code and QR code are in the text of the Enter prompt"
	is "mode=device: the QR code in the prompt decodes to verification_uri_complete" \
		"$(qr_decode "$SCRATCH/err")" "$(sed -n 's/^or open \(.*\)$/\1/p' "$SCRATCH/err")"
	is "alice is created and NSS knows her" "$(ns getent passwd alice | cut -d: -f1,5,6)" \
		"alice:Alice Tester:/home/alice"
	grep -q 'device flow sign-in for alice with issuer idp' "$SCRATCH/syslog" &&
		grep -q 'accepted token for alice' "$SCRATCH/syslog"
	ok $? "mode=device: logged as a device sign-in and an accepted token"
	# the same device flow login under valgrind memcheck (exit 99 on a memory error or a leak)
	if memcheck_usable; then
		# valgrind is slow, more so on a loaded machine: bounds far from what a slow run takes
		sed 's/^device_timeout = .*/device_timeout = 600/' "$PCONF" >"$SCRATCH/vg.conf"
		printf 'http_timeout = 300\nhttp_connect_timeout = 60\n' >>"$SCRATCH/vg.conf"
		chmod 644 "$SCRATCH/vg.conf"
		printf 'auth required %s config=%s mode=device\naccount required pam_permit.so\n' \
			"$PAM_MODULE" "$SCRATCH/vg.conf" >"$SCRATCH/pam.d/pj-device-vg"
		PAM_LOGIN_WRAP="$VALGRIND -q --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99"
		pam_login approve alice pj-device-vg alice '\n'
		PAM_LOGIN_WRAP=
		[ $rc -eq 0 ] && grep -q "result: Success" "$SCRATCH/out"
		ok $? "mode=device under valgrind: authenticated, no memory error or leak (exit $rc)"
		[ $rc -eq 0 ] || sed 's/^/# /' "$SCRATCH/err" | grep -v '^# *$' | head -30
	else
		ok 0 "# SKIP no valgrind (or a sanitizer build, where it cannot run)"
	fi

	pam_login approve bob pj-device alice '\n'
	[ $rc -ne 0 ] && grep -q 'This sign-in was approved with another account than alice: refused' "$SCRATCH/err"
	ok $? "mode=device, bob approves alice's login: refused with a clear message"
	! grep -q bob "$SCRATCH/err" "$SCRATCH/out" &&
		grep -q 'device flow: the sign-in for alice was approved by bob' "$SCRATCH/syslog"
	ok $? "the terminal is not told which account approved; the log names bob"
	grep -q "^Sign-in for alice on .* (pj-device)\.$" "$SCRATCH/err" &&
		grep -q "^Approve it only if you are signing in to .* as alice yourself\.$" "$SCRATCH/err"
	ok $? "the instructions name the host, the PAM service and the user"
	ns getent passwd bob >/dev/null
	is "and bob was not created" "$?" 2
	pam_login deny alice pj-device alice '\n'
	[ $rc -ne 0 ] && grep -q 'The sign-in was denied' "$SCRATCH/err" &&
		grep -q 'Authentication failure' "$SCRATCH/out"
	ok $? "mode=device, denied: authentication failure"
	pam_login badkey alice pj-device alice '\n'
	[ $rc -ne 0 ] && grep -q 'token was refused' "$SCRATCH/err" && grep -q 'signature' "$SCRATCH/syslog"
	ok $? "mode=device, a token signed with a key not in the JWKS: refused"
	pam_login "" "" pj-device alice ''
	[ $rc -ne 0 ] && grep -q 'conversation error' "$SCRATCH/err"
	ok $? "mode=device, no answer to the Enter prompt: refused"

	pam_login approve alice pj-auto alice '\n\n'
	[ $rc -eq 0 ] && grep -q '^JWT (or press Enter to sign in with a browser): ' "$SCRATCH/err"
	ok $? "mode=auto, Enter: the device flow, approved (exit $rc)"
	devices=$(count device)
	tok=$("$JWT_MINT" sign ES256 "$SCRATCH/idp.pem" k1 "{\"iss\":\"$ISS\",\"aud\":\"pam-cli\",\
\"sub\":\"sub-alice\",\"exp\":@now+300,\"iat\":@now,\"preferred_username\":\"alice\"}")
	pam_login "" "" pj-auto alice "$tok\n"
	[ $rc -eq 0 ] && [ "$(count device)" = "$devices" ]
	ok $? "mode=auto, a pasted token: authenticated without any device request (exit $rc)"
	pam_login "" "" pj-token alice '\n'
	[ $rc -ne 0 ] && [ "$(count device)" = "$devices" ] && ! grep -q 'enter the code' "$SCRATCH/err"
	ok $? "mode=token: an empty answer is just a refused token, no device flow"
	pam_login "" "" pj-bogus alice '\n'
	[ $rc -ne 0 ] && grep -q 'mode=bogus' "$SCRATCH/syslog"
	ok $? "mode=bogus: a service error, logged"

	sed "s|^state_dir = .*|state_dir = /var/lib/pam_jwt|" "$SCRATCH/down.conf" >"$SCRATCH/pdown.conf"
	chmod 644 "$SCRATCH/pdown.conf"
	printf 'auth required %s config=%s mode=device\n' "$PAM_MODULE" "$SCRATCH/pdown.conf" \
		>"$SCRATCH/pam.d/pj-down"
	pam_login "" "" pj-down alice '\n'
	[ $rc -ne 0 ] && grep -q 'cannot be reached' "$SCRATCH/err" &&
		grep -q 'Authentication service cannot retrieve authentication info' "$SCRATCH/out"
	ok $? "mode=device, the IdP unreachable: PAM_AUTHINFO_UNAVAIL at once"

	# An IdP whose token answer is not a JWT at all (plain http on the loopback, insecure_allow_http_loopback):
	# ignore_non_jwt is for what the person types, so the device flow's answer is a failure, never PAM_IGNORE.
	mkdir -m 755 "$SCRATCH/opaque"
	"$PYTHON" - "$SCRATCH/opaque/port" <<'PYEOF' &
import http.server, json, sys
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass
    def answer(self, obj):
        body = json.dumps(obj).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_GET(self):
        self.answer({"issuer": ISS, "device_authorization_endpoint": ISS + "/device", "token_endpoint": ISS + "/token"})
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path == "/device":
            self.answer({"device_code": "dc-opaque", "user_code": "UC-OPAQUE", "verification_uri": ISS + "/activate",
                         "expires_in": 30, "interval": 1})
        else:
            self.answer({"id_token": "opaque-not-a-jwt", "access_token": "opaque-not-a-jwt", "token_type": "Bearer"})
s = http.server.HTTPServer(("127.0.0.1", 0), H)
ISS = "http://127.0.0.1:%d" % s.server_port
open(sys.argv[1], "w").write(str(s.server_port))
s.timeout = 60
for _ in range(3):
    s.handle_request()
PYEOF
	opaque_pid=$!
	wait_file "$SCRATCH/opaque/port"
	{
		printf '[global]\nstate_dir = %s\ncache_dir = %s\n' "$SCRATCH/state" "$SCRATCH/cache"
		printf '[issuer opaque]\nissuer = http://127.0.0.1:%s\naudience = pam-cli\nalgorithms = ES256\n' \
			"$(cat "$SCRATCH/opaque/port")"
		printf 'jwks_file = %s\ndevice_client_id = pam-cli\ninsecure_allow_http_loopback = yes\n' "$IDP/jwks.json"
	} >"$SCRATCH/opaque.conf"
	chmod 644 "$SCRATCH/opaque.conf" "$IDP/jwks.json"
	# succeeds only when pam_jwt returns PAM_IGNORE (ignore=1 jumps over pam_deny)
	{
		printf 'auth [ignore=1 default=die] %s config=%s mode=device ignore_non_jwt\n' "$PAM_MODULE" \
			"$SCRATCH/opaque.conf"
		printf 'auth required pam_deny.so\nauth required pam_permit.so\naccount required pam_permit.so\n'
	} >"$SCRATCH/pam.d/pj-opaque"
	pam_login "" "" pj-opaque alice '\n'
	kill "$opaque_pid" 2>/dev/null
	[ $rc -ne 0 ] && grep -q 'Authentication failure' "$SCRATCH/out" && grep -q 'not a JWT' "$SCRATCH/syslog"
	ok $? "mode=device ignore_non_jwt, the IdP's answer is not a JWT: a failure, not PAM_IGNORE (exit $rc)"
	cat "$SCRATCH/syslog" >>"$SCRATCH/all_err"
else
	diag "no mount namespace, tests/device-pam or libnss_jwt.so.2: the PAM part is skipped"
fi

# ---- neither code is ever logged ----
leaks=0
while read -r user_code device_code; do
	grep -qF -e "$device_code" "$SCRATCH/all_err" "$SCRATCH/out" && leaks=$((leaks + 1))
	grep '^pam-jwt:' "$SCRATCH/all_err" | grep -qF -e "$user_code" && leaks=$((leaks + 1))
done <"$IDP/codes"
[ "$(wc -l <"$IDP/codes")" -ge 10 ]
ok $? "every grant's codes were collected ($(wc -l <"$IDP/codes"))"
is "no log line holds a device code or a user code" "$leaks" 0

done_testing
