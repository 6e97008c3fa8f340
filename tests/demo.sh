#!/bin/sh
# demo.sh: builds pam_jwt, makes a demo issuer, mints tokens and logs in through pamtester.
# SPDX-License-Identifier: BSD-3-Clause
# The issuer is a key and its JWKS; the logins go through a test /etc/pam.d inside a private mount namespace
# (the host's /etc is not changed).
set -eu
cd "$(dirname "$0")/.."
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

[ "$(id -u)" -eq 0 ] || { echo "demo.sh: run as root (it uses a mount namespace and root-owned key files)"; exit 1; }
say "installing build dependencies"
sh tests/install-deps.sh
say "building"
[ -x configure ] || ./autogen.sh >/dev/null 2>&1
[ -f Makefile ] || ./configure >/dev/null
make -j2 >/dev/null
make -j2 tests/jwt-mint >/dev/null

DEMO=$(mktemp -d /tmp/pam_jwt_demo.XXXXXX)
chmod 755 "$DEMO"
trap 'rm -rf "$DEMO"' EXIT
ISS=https://idp.demo.example
say "a demo issuer $ISS: an ES256 key and its JWKS ($DEMO/jwks.json)"
tests/jwt-mint keygen ES256 "$DEMO/issuer.pem"
tests/jwt-mint jwks "$DEMO/issuer.pem:demo-key-1:ES256" >"$DEMO/jwks.json"
chmod 644 "$DEMO/jwks.json"
cat "$DEMO/jwks.json"
cat >"$DEMO/pam_jwt.conf" <<EOF2
[global]
# the demo keeps its key cache and user store in its own directory
cache_dir = $DEMO
state_dir = $DEMO
[issuer demo]
issuer = $ISS
audience = demo-host
algorithms = ES256
jwks_file = $DEMO/jwks.json
groups_claim = groups
EOF2
chmod 644 "$DEMO/pam_jwt.conf"
say "the configuration ($DEMO/pam_jwt.conf)"
cat "$DEMO/pam_jwt.conf"
./pam-jwt check-config --config "$DEMO/pam_jwt.conf"

mkdir "$DEMO/pam.d"
printf 'auth required %s/.libs/pam_jwt.so config=%s/pam_jwt.conf\naccount required pam_permit.so\n' \
	"$(pwd)" "$DEMO" >"$DEMO/pam.d/pam-jwt-demo"
say "the PAM service (/etc/pam.d/pam-jwt-demo inside the namespace)"
cat "$DEMO/pam.d/pam-jwt-demo"

GOOD=$(tests/jwt-mint sign ES256 "$DEMO/issuer.pem" demo-key-1 \
	"{\"iss\":\"$ISS\",\"aud\":\"demo-host\",\"sub\":\"0f6c1c9e\",\"exp\":@now+600,\"iat\":@now,\"preferred_username\":\"alice\",\"groups\":[\"devs\",\"ops\"]}")
tests/jwt-mint keygen ES256 "$DEMO/attacker.pem"
FORGED=$(tests/jwt-mint sign ES256 "$DEMO/attacker.pem" demo-key-1 \
	"{\"iss\":\"$ISS\",\"aud\":\"demo-host\",\"sub\":\"0f6c1c9e\",\"exp\":@now+600,\"iat\":@now,\"preferred_username\":\"alice\"}")

login() {
	printf '%s\n' "$2" >"$DEMO/token"
	unshare -m sh -c "mount --make-rprivate / && mount --bind '$DEMO/pam.d' /etc/pam.d &&
		pamtester pam-jwt-demo '$1' authenticate <'$DEMO/token'"
}

say "pam-jwt verify, a token for alice signed by the issuer"
echo "$GOOD" | ./pam-jwt verify --config "$DEMO/pam_jwt.conf" --user alice || true
say "pamtester: alice logs in with that token"
login alice "$GOOD" && echo "=> ACCEPTED, as expected" || { echo "=> unexpectedly refused"; exit 1; }
say "pam-jwt verify, a forged token (signed by another key with the same kid)"
echo "$FORGED" | ./pam-jwt verify --config "$DEMO/pam_jwt.conf" --user alice || true
say "pamtester: the forged token"
login alice "$FORGED" && { echo "=> unexpectedly accepted"; exit 1; } || echo "=> REFUSED, as expected"
say "pamtester: alice's token presented for bob"
login bob "$GOOD" && { echo "=> unexpectedly accepted"; exit 1; } || echo "=> REFUSED, as expected"
say "demo complete"
