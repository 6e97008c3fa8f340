#!/bin/sh
# make-corpus.sh: writes the seed corpora fuzz/corpus/<target>/ (and fuzz/keys/, the keys fuzz_jws trusts).
# SPDX-License-Identifier: BSD-3-Clause
# Needs tests/jwt-mint, pam-jwt and libpamjwt.la built (make -j2 && make -j2 tests/jwt-mint); run as root from anywhere.
set -eu
# (pipelines: a failing jwt-mint shows as an empty token, which the checks below would catch)
top=$(cd "$(dirname "$0")/.." && pwd)
mint=$top/tests/jwt-mint
cli=$top/pam-jwt
fz=$top/fuzz
c=$fz/corpus
[ -x "$mint" ] && [ -x "$cli" ] || { echo "make-corpus.sh: build pam-jwt and tests/jwt-mint first" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$fz/keys" "$c/jws" "$c/json" "$c/jwks" "$c/b64url" "$c/config" "$c/store" "$c/dpop" "$c/sshcert"

# keys: the three fuzz_jws loads from PJ_FUZZ_KEYS (kids rsa, ec, ed), and two it does not know
[ -f "$fz/keys/rsa.pem" ] || "$mint" keygen RS256 "$fz/keys/rsa.pem"
[ -f "$fz/keys/ec.pem" ] || "$mint" keygen ES256 "$fz/keys/ec.pem"
[ -f "$fz/keys/ed.pem" ] || "$mint" keygen EdDSA "$fz/keys/ed.pem"
"$mint" keygen ES384 "$tmp/es384.pem"
"$mint" keygen ES512 "$tmp/es512.pem"

# sign ARGS...: a token as the PAM conversation hands it over (no newline)
sign() { "$mint" sign "$@" | tr -d '\n'; }

# DPoP proofs for fuzz_dpop's token (its FUZZ_TOKEN) from keys made here: ES256 and EdDSA, with and without a
# nonce, for its host alias fuzz.test
ftok=eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJmdXp6In0.c2ln
"$cli" dpop keygen --key "$tmp/dpop-es.key" >/dev/null
"$cli" dpop keygen --key "$tmp/dpop-ed.key" --alg EdDSA >/dev/null
printf '%s' "$ftok" | "$cli" dpop proof --key "$tmp/dpop-es.key" --htu pam://fuzz.test/sshd --nonce fuzz-nonce |
	tr -d '\n' >"$c/dpop/es256"
printf '%s' "$ftok" | "$cli" dpop proof --key "$tmp/dpop-ed.key" --htu pam://fuzz.test/sshd --nonce fuzz-nonce |
	tr -d '\n' >"$c/dpop/eddsa"
printf '%s' "$ftok" | "$cli" dpop proof --key "$tmp/dpop-es.key" --htu pam://other/sudo | tr -d '\n' >"$c/dpop/no-nonce"

# tokens valid at fuzz_jws's FUZZ_NOW (1800000000) for its issuer
pl='{"iss":"https://idp.fuzz.test","aud":"fuzz-aud","sub":"s-1","preferred_username":"alice",'
pl=$pl'"iat":1700000000,"nbf":1700000000,"exp":4000000000,"realm_access":{"roles":["dev","ops"]}}'
for alg in RS256 RS384 RS512 PS256 PS384 PS512; do
	sign $alg "$fz/keys/rsa.pem" rsa "$pl" >"$c/jws/$alg"
done
sign ES256 "$fz/keys/ec.pem" ec "$pl" >"$c/jws/ES256"
sign ES384 "$tmp/es384.pem" ec384 "$pl" >"$c/jws/ES384"
sign ES512 "$tmp/es512.pem" - "$pl" >"$c/jws/ES512"
sign EdDSA "$fz/keys/ed.pem" ed "$pl" >"$c/jws/EdDSA"
sign ES256 "$fz/keys/ec.pem" - \
	'{"iss":"https://second.fuzz.test","aud":["fuzz-aud","x"],"sub":"s-2","email":"Bob@Example.COM","exp":4000000000}' \
	>"$c/jws/second-email"
sign RS256 "$fz/keys/rsa.pem" rsa "$pl" '{"alg":"RS256","typ":"at+jwt","kid":"rsa"}' >"$c/jws/typ-at"
printf 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.' >"$c/jws/alg-none"

# JSON objects: the decoded headers and payloads, a JWKS, odd but valid texts
printf '%s' "$pl" >"$c/json/payload"
printf '{"alg":"RS256","typ":"JWT","kid":"rsa"}' >"$c/json/header"
printf '{"a":[1,-2.5e3,true,false,null,"\\u00e9\\ud83d\\ude00\\n"],"b":{"c":{}},"n":18446744073709551615}' \
	>"$c/json/mixed"
printf ' {"k" : "v", "i": -9223372036854775808 }\n' >"$c/json/spaces"

# JWKS documents
"$mint" jwks "$fz/keys/rsa.pem:rsa" "$fz/keys/ec.pem:ec:ES256" "$fz/keys/ed.pem:ed" >"$c/jwks/three"
"$mint" jwks "$tmp/es384.pem:ec384:ES384" "$tmp/es512.pem:-" >"$c/jwks/ec"
printf '{"keys":[{"kty":"oct","k":"AAAA"},{"kty":"RSA","n":"AQAB","e":"AQAB","use":"enc"}]}' >"$c/jwks/skipped"
cp "$c/jwks/three" "$c/json/jwks"

# base64url segments
cut -d. -f1 "$c/jws/RS256" | tr -d '\n' >"$c/b64url/header"
cut -d. -f2 "$c/jws/RS256" | tr -d '\n' >"$c/b64url/payload"
cut -d. -f3 "$c/jws/ES256" | tr -d '\n' >"$c/b64url/sig"
printf 'AQAB' >"$c/b64url/aqab"
printf 'Zm9vYg' >"$c/b64url/short"

# configurations: the shipped example and a full one
cp "$top/conf/pam_jwt.conf" "$c/config/example"
cat >"$c/config/full" <<'CONF'
# every kind of key
[global]
max_token_size = 32K
uid_min = 300000
uid_max = 400000
home_template = /home/%u
default_shell = /bin/sh
account_max_age = 90d
nss_preauth = yes
leeway = 2m
[issuer main]
issuer = https://idp.example.com/realms/main
audience = pam a2
algorithms = RS256 PS512 ES256 EdDSA
jwks_uri = https://idp.example.com/jwks
http_timeout = 10
http_max_body = 64K
jwks_min_ttl = 5m
jwks_max_ttl = 1d
username_claim = email
username_transform = lowercase strip_domain
username_domains = example.com example.org
groups_claim = realm_access.roles
group_prefix = idp-
groups_allow = dev* ops
group_map = admins:sudo, devs:users
device_client_id = pam
device_scopes = openid profile
[issuer other]
issuer = https://other.example.com
audience = x
jwks_file = /etc/pam_jwt/other.jwks
uid_claim = uidNumber
[service sshd]
require_issuer = main
require_groups = dev ops
require_claim = acr=mfa
CONF

# stores written by the userstore API through pam-jwt user
st=$tmp/state
mkdir -m 0755 "$st"
printf '[global]\nstate_dir = %s\nnss_preauth = yes\n[issuer a]\nissuer = https://a.test\naudience = a\njwks_file = /nonexistent\n' \
	"$st" >"$tmp/conf"
# fuzz_store's input: a 4-byte little-endian length, users.db, then users.journal
le32() {
	printf "\\$(printf %03o $(($1 & 255)))\\$(printf %03o $((($1 >> 8) & 255)))"
	printf "\\$(printf %03o $((($1 >> 16) & 255)))\\$(printf %03o $((($1 >> 24) & 255)))"
}
store_seed() { # NAME: the store in $st as one input
	{
		le32 "$(stat -c %s "$st/users.db")"
		cat "$st/users.db"
		[ ! -e "$st/users.journal" ] || cat "$st/users.journal"
	} >"$c/store/$1"
}
"$cli" user init --config "$tmp/conf" >/dev/null 2>&1
store_seed empty
"$cli" user add alice --config "$tmp/conf" >/dev/null 2>&1
"$cli" user add bob --uid 2001000500 --gecos 'Bob B,room 1' --config "$tmp/conf" >/dev/null 2>&1
store_seed two-users
# bound users in managed groups (what logins write), through the userstore API itself
cat >"$tmp/mkstore.c" <<'C'
#include <stdlib.h>
#include "pam_jwt/userstore.h"
int main(int argc, char **argv)
{
	struct userstore *us;
	struct us_user *a, *b;
	struct pj_error err;
	(void)argc;
	if (userstore_open(argv[1], true, &us, &err) != PJ_OK ||
	    userstore_add_group(us, "devs", 300001, &err) != PJ_OK ||
	    userstore_add_group(us, "ops", 300002, &err) != PJ_OK ||
	    userstore_add_user(us, "carol", 300010, "Carol", "/home/carol", "/bin/bash", "https://idp.fuzz.test",
			       "s-3", 1700000000, &a, &err) != PJ_OK ||
	    userstore_add_user(us, "dave", 300011, "", "/home/dave", "/bin/sh", "https://idp.fuzz.test", "s-4",
			       1700000000, &b, &err) != PJ_OK ||
	    userstore_set_gids(a, (const uint32_t[]){300001, 300002, 100}, 3, &err) != PJ_OK ||
	    userstore_set_gids(b, (const uint32_t[]){300001}, 1, &err) != PJ_OK ||
	    userstore_commit(us, 1700000000, &err) != PJ_OK)
		return 1;
	userstore_close(us);
	/* then what logins append to the journal: a new user in a new group, and dave changed */
	if (userstore_open_view(argv[1], NULL, &us, &err) != PJ_OK ||
	    userstore_add_group(us, "qa", 300003, &err) != PJ_OK ||
	    userstore_add_user(us, "erin", 300012, "Erin", "/home/erin", "/bin/sh", "https://idp.fuzz.test", "s-5",
			       1700000100, &a, &err) != PJ_OK ||
	    userstore_set_gids(a, (const uint32_t[]){300003, 300001}, 2, &err) != PJ_OK ||
	    userstore_commit(us, 1700000100, &err) != PJ_OK)
		return 1;
	userstore_close(us);
	if (userstore_open_view(argv[1], NULL, &us, &err) != PJ_OK || (b = userstore_user(us, "dave")) == NULL ||
	    userstore_set_gids(b, (const uint32_t[]){300003}, 1, &err) != PJ_OK ||
	    userstore_commit(us, 1700000200, &err) != PJ_OK)
		return 1;
	userstore_close(us);
	return 0;
}
C
${CC:-cc} -std=gnu11 -DPJ_STATE_DIR='"/var/lib/pam_jwt"' -I"$top" -o "$tmp/mkstore" "$tmp/mkstore.c" "$top/.libs/libpamjwt.a" \
	-lcrypto -ljson-c -ldl
"$tmp/mkstore" "$st"
store_seed groups-journal
# sshcert: opkssh-shaped certificates (self-signed, openpubkey-pkt, opkssh-wildcard) of the three key types,
# as the decoded blobs sshd passes in base64, and a CIC header for json_go
for t in ecdsa ed25519 rsa; do
	ssh-keygen -q -t $t -N '' -f "$tmp/u-$t"
	ssh-keygen -q -s "$tmp/u-$t" -I seed -n opkssh-wildcard -O extension:openpubkey-pkt=eyJhIjoxfQ:eyJhbGciOiJFUzI1NiJ9:c2ln \
		"$tmp/u-$t.pub"
	cut -d' ' -f2 "$tmp/u-$t-cert.pub" | base64 -d >"$c/sshcert/$t"
done
printf '%s' '{"alg":"ES256","rz":"00ff","typ":"CIC","upk":{"alg":"ES256","crv":"P-256","kty":"EC","x":"<&>","y":"\u2028"}}' \
	>"$c/sshcert/cic.json"
# device: a discovery document, then per POST a status character ('0' 200, '1' 400, '2' 401, '3' 503) and
# the body, NUL-separated (fuzz/fuzz_device.c)
mkdir -p "$c/device"
disc='{"issuer":"https://idp.example","device_authorization_endpoint":"https://idp.example/device","token_endpoint":"https://idp.example/token"}'
auth='0{"device_code":"dc-1","user_code":"WDJB-MJHT","verification_uri":"https://idp.example/v","verification_uri_complete":"https://idp.example/v?c=WDJB-MJHT","expires_in":600,"interval":5}'
tok='0{"id_token":"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln","token_type":"Bearer"}'
# device_seed NAME PART...: the parts joined by NUL bytes
device_seed() {
	name=$1
	shift
	first=1
	for part; do
		[ -n "$first" ] || printf '\000'
		printf '%s' "$part"
		first=
	done >"$c/device/$name"
}
device_seed approved "$disc" "$auth" '1{"error":"authorization_pending"}' '1{"error":"slow_down"}' "$tok"
device_seed denied "$disc" "$auth" '1{"error":"authorization_pending"}' '1{"error":"access_denied"}'
device_seed expired "$disc" "$auth" '1{"error":"expired_token"}'
device_seed bad-client "$disc" '2{"error":"invalid_client"}'
device_seed unavailable "$disc" "$auth" 3
device_seed no-token "$disc" "$auth" '0{"access_token":"x"}'
device_seed no-interval "$disc" "$(printf '%s' "$auth" | sed 's/,"interval":5//')" "$tok"
du -sb "$c"
