#!/usr/bin/python3
# opk_client.py: makes a PK Token as opkssh's client does, from the test OpenID Provider (tests only).
# SPDX-License-Identifier: BSD-3-Clause
"""opk_client.py --idp URL --cafile CA --client-id ID --login USER --key KEY.pem --mint JWT_MINT [variants]

Builds the client instance claims (CIC: the protected header {"alg","rz","typ":"CIC","upk"} of the user's
public key), commits to them (nonce = base64url(SHA3-256(the header as Go's json.Marshal writes it: keys
sorted, compact))), runs the OP's authorization-code flow with that nonce (oidc_device_server.py /authorize,
the person scripted as USER), has the user's key sign the ID token's payload under the CIC header, and
prints the compact PK Token payload:protOP:sigOP:protCIC:sigCIC. Variants, for the refusal tests:
  --cic-key OTHER.pem   the CIC signed by another key (upk still names KEY)
  --nonce N             send nonce N instead of the commitment
  --op-twice            the OP's signature listed twice
  --action badkey       the OP signs with a key that is not in its JWKS
  --fresh               append "." and the ID token again as a refreshed ID token
  --alg RS256           the user key's algorithm (default ES256)
  --op-key PEM          no OP at all: jwt-mint signs the ID token itself (ES256, kid ES256) for issuer
                        --idp, sub "sub-USER" (--cafile is then ignored)
"""

import argparse
import base64
import hashlib
import json
import secrets
import ssl
import subprocess
import sys
import urllib.parse
import urllib.request


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def unb64url(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args):
        return None


def main():
    ap = argparse.ArgumentParser()
    for a in ("--idp", "--cafile", "--client-id", "--login", "--key", "--mint"):
        ap.add_argument(a, required=True)
    ap.add_argument("--cic-key")
    ap.add_argument("--nonce")
    ap.add_argument("--op-twice", action="store_true")
    ap.add_argument("--action")
    ap.add_argument("--fresh", action="store_true")
    ap.add_argument("--alg", default="ES256")
    ap.add_argument("--op-key")
    args = ap.parse_args()

    jwks = subprocess.run([args.mint, "jwks", args.key + ":-:" + args.alg], check=True, capture_output=True, text=True)
    upk = json.loads(jwks.stdout)["keys"][0]
    cic = {"alg": args.alg, "rz": secrets.token_hex(32), "typ": "CIC", "upk": upk}
    # Go's json.Marshal of a map: keys sorted, no spaces (the header holds ASCII only, no < > &)
    commitment = b64url(hashlib.sha3_256(json.dumps(cic, sort_keys=True, separators=(",", ":")).encode()).digest())
    nonce = args.nonce or commitment

    if args.op_key:
        claims = {"iss": args.idp, "aud": args.client_id, "sub": "sub-" + args.login, "iat": "@now",
                  "exp": "@now+300", "preferred_username": args.login, "groups": ["devs"], "nonce": nonce}
        out = subprocess.run([args.mint, "sign", "ES256", args.op_key, "ES256",
                              json.dumps(claims).replace('"@now+300"', "@now+300").replace('"@now"', "@now")],
                             check=True, capture_output=True, text=True)
        finish(args, cic, out.stdout.strip())
        return
    ctx = ssl.create_default_context(cafile=args.cafile)
    redirect = "http://localhost:3000/login-callback"
    q = {"client_id": args.client_id, "redirect_uri": redirect, "nonce": nonce, "state": secrets.token_hex(8),
         "response_type": "code", "scope": "openid", "login": args.login}
    if args.action:
        q["action"] = args.action
    opener = urllib.request.build_opener(NoRedirect(), urllib.request.HTTPSHandler(context=ctx))
    try:
        opener.open(args.idp + "/authorize?" + urllib.parse.urlencode(q), timeout=20)
        sys.exit("opk_client: /authorize did not redirect")
    except urllib.error.HTTPError as e:
        if e.code != 302:
            raise
        loc = urllib.parse.urlsplit(e.headers["Location"])
    answer = dict(urllib.parse.parse_qsl(loc.query))
    if answer.get("state") != q["state"]:
        sys.exit("opk_client: state mismatch")
    body = urllib.parse.urlencode({"grant_type": "authorization_code", "code": answer["code"],
                                   "redirect_uri": redirect, "client_id": args.client_id}).encode()
    req = urllib.request.Request(args.idp + "/token", data=body,
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(req, context=ctx, timeout=20) as r:
        idt = json.load(r)["id_token"]
    finish(args, cic, idt)


def finish(args, cic, idt):
    """The user's key signs the ID token's payload under the CIC header; prints the compact PK Token."""
    prot_op, payload, sig_op = idt.split(".")

    signer = args.cic_key or args.key
    out = subprocess.run([args.mint, "sign", args.alg, signer, "-", unb64url(payload).decode(),
                          json.dumps(cic, separators=(",", ":"))], check=True, capture_output=True, text=True)
    prot_cic, payload_cic, sig_cic = out.stdout.strip().split(".")
    if payload_cic != payload:
        sys.exit("opk_client: the CIC token's payload differs from the ID token's")
    parts = [payload, prot_op, sig_op]
    if args.op_twice:
        parts += [prot_op, sig_op]
    parts += [prot_cic, sig_cic]
    pkt = ":".join(parts)
    if args.fresh:
        pkt += "." + idt
    print(pkt)


if __name__ == "__main__":
    main()
