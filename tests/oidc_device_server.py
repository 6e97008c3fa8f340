#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""oidc_device_server.py: a test OpenID Provider on 127.0.0.1 over HTTPS with the RFC 8628 device flow.

Its issuer is https://127.0.0.1:PORT (PORT written to ROOT/port once listening). It serves
  GET  /.well-known/openid-configuration  issuer, jwks_uri, device_authorization_endpoint, token_endpoint
  GET  /jwks                               ROOT/jwks.json
  POST /device                             the device authorization request (RFC 8628 3.1)
  GET  /activate?user_code=C[&login=U&action=A]   the page the person opens; with login and action the test
                                           plays that person: approve (as U), deny, or badkey (approve as U
                                           but sign with --bad-key, a key not in the JWKS)
  POST /token                              the token request (RFC 8628 3.4; or RFC 6749 4.1.3, below)
  GET  /authorize?client_id=C&redirect_uri=R&nonce=N&state=S&login=U[&action=badkey]
                                           the authorization-code flow with a nonce (OIDC Core 3.1), the
                                           person scripted: answers 302 to R?code=..&state=S at once as U;
                                           the code's ID token carries nonce N (what opkssh's client commits
                                           to its key with); badkey signs it with --bad-key
Behaviour is read from ROOT/config.json at each request (all optional):
  client_id (default "pam-cli"), client_secret (then HTTP Basic is required), expires_in (60), interval (1),
  slow_down (how many first polls answer slow_down, 0), omit_complete (no verification_uri_complete),
  id_token_claims / access_token_claims (extra or replaced claims), device_status (answer /device with it),
  token_error (answer every poll with this OAuth error), pad_token_answer (bytes of padding in the token
  answer), endpoint_scheme / verification_scheme ("http": advertise such URLs), discovery_issuer (another
  "issuer" in the discovery document), dpop (the token endpoint wants a DPoP proof, RFC 9449: checks typ,
  alg ES256/EdDSA, the signature by the header's jwk, htm POST, htu, iat; binds the tokens with cnf.jkt and
  answers token_type DPoP; the last proof's facts go to ROOT/last_dpop.json), dpop_nonce (also demand a
  server nonce: use_dpop_nonce with a DPoP-Nonce header until the proof carries it).
Polls sooner than the grant's interval after the previous request (or after the authorization) are answered
slow_down as RFC 8628 says, and counted in ROOT/count/too_fast; every request counts in ROOT/count/NAME.
The last device request's form (without codes) goes to ROOT/last_device_form.json, the last grant's codes to
ROOT/last_user_code and ROOT/last_device_code, and every grant's "USER_CODE DEVICE_CODE" is appended to
ROOT/codes (for the tests to look for in logs); the poll times of the
last grant to ROOT/polls (monotonic seconds, one a line), the last activation page to ROOT/activate.html.
The server exits by itself after --timeout seconds.
"""

import argparse
import base64
import hashlib
import http.server
import json
import os
import secrets
import subprocess
import sys
import threading
import time
import traceback
import urllib.parse

from tls_server import serve, write_atomic

MAX_BODY = 65536
GRANT = "urn:ietf:params:oauth:grant-type:device_code"


class State:
    def __init__(self, args):
        self.args = args
        self.root = args.root
        self.lock = threading.Lock()
        self.grants = {}  # device_code -> dict
        self.by_user_code = {}
        self.counts = {}
        self.dpop_nonce = secrets.token_urlsafe(16)
        os.makedirs(os.path.join(self.root, "count"), exist_ok=True)

    def config(self):
        try:
            with open(os.path.join(self.root, "config.json")) as f:
                return json.load(f)
        except FileNotFoundError:
            return {}

    def count(self, name):
        with self.lock:
            self.counts[name] = self.counts.get(name, 0) + 1
            write_atomic(os.path.join(self.root, "count", name), "%d\n" % self.counts[name])

    def mint(self, key, claims):
        out = subprocess.run([self.args.mint, "sign", self.args.alg, key, self.args.kid, json.dumps(claims)],
                             check=True, capture_output=True, text=True)
        return out.stdout.strip()


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "pam_jwt-test-oidc"
    protocol_version = "HTTP/1.0"

    def log_message(self, fmt, *args):
        pass

    @property
    def st(self):
        return self.server.state

    def issuer(self):
        return "https://127.0.0.1:%d" % self.server.port

    def reply(self, status, obj, ctype="application/json"):
        body = (json.dumps(obj) if ctype == "application/json" else obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def error(self, status, code, headers=None):
        body = json.dumps({"error": code, "error_description": "test server: " + code}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def dpop(self, cfg):
        """Checks the DPoP header of a token request: returns (jkt, None) or (None, error code)."""
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec, ed25519
        from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

        def b64d(x):
            return base64.urlsafe_b64decode(x + "=" * (-len(x) % 4))

        proof = self.headers.get("DPoP")
        facts = {"present": proof is not None}
        try:
            if proof is None:
                return None, "invalid_dpop_proof"
            h64, p64, s64 = proof.split(".")
            hdr, claims, sig = json.loads(b64d(h64)), json.loads(b64d(p64)), b64d(s64)
            jwk = hdr["jwk"]
            if hdr.get("typ") != "dpop+jwt" or any(k in jwk for k in ("d", "p", "q", "k")):
                return None, "invalid_dpop_proof"
            data = (h64 + "." + p64).encode()
            if hdr["alg"] == "ES256" and jwk["kty"] == "EC" and jwk["crv"] == "P-256" and len(sig) == 64:
                pub = ec.EllipticCurvePublicNumbers(int.from_bytes(b64d(jwk["x"]), "big"),
                                                    int.from_bytes(b64d(jwk["y"]), "big"), ec.SECP256R1()).public_key()
                pub.verify(encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")),
                           data, ec.ECDSA(hashes.SHA256()))
                canon = '{"crv":"%s","kty":"EC","x":"%s","y":"%s"}' % (jwk["crv"], jwk["x"], jwk["y"])
            elif hdr["alg"] == "EdDSA" and jwk["kty"] == "OKP" and jwk["crv"] == "Ed25519":
                ed25519.Ed25519PublicKey.from_public_bytes(b64d(jwk["x"])).verify(sig, data)
                canon = '{"crv":"%s","kty":"OKP","x":"%s"}' % (jwk["crv"], jwk["x"])
            else:
                return None, "invalid_dpop_proof"
            facts.update(htm=claims.get("htm"), htu=claims.get("htu"), nonce=claims.get("nonce"),
                         alg=hdr["alg"], iat_skew=int(time.time()) - int(claims.get("iat", 0)))
            if claims.get("htm") != "POST" or claims.get("htu") != self.issuer() + "/token" or \
                    abs(facts["iat_skew"]) > 60 or not claims.get("jti"):
                return None, "invalid_dpop_proof"
        except (ValueError, KeyError, TypeError, InvalidSignature):
            return None, "invalid_dpop_proof"
        finally:
            write_atomic(os.path.join(self.st.root, "last_dpop.json"), json.dumps(facts))
        if cfg.get("dpop_nonce") and claims.get("nonce") != self.st.dpop_nonce:
            self.st.count("use_dpop_nonce")
            return None, "use_dpop_nonce"
        jkt = base64.urlsafe_b64encode(hashlib.sha256(canon.encode()).digest()).decode().rstrip("=")
        return jkt, None

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(url.query))
        name = url.path.strip("/").replace("/", "_") or "_index"
        self.st.count(name)
        if url.path == "/.well-known/openid-configuration":
            cfg = self.st.config()
            iss = self.issuer()
            ep = iss.replace("https:", cfg.get("endpoint_scheme", "https") + ":")
            self.reply(200, {"issuer": cfg.get("discovery_issuer", iss), "jwks_uri": iss + "/jwks",
                             "device_authorization_endpoint": ep + "/device", "token_endpoint": ep + "/token",
                             "authorization_endpoint": ep + "/authorize",
                             "grant_types_supported": [GRANT, "authorization_code"]})
        elif url.path == "/jwks":
            with open(os.path.join(self.st.root, "jwks.json")) as f:
                self.reply(200, json.load(f))
        elif url.path == "/activate":
            self.activate(q)
        elif url.path == "/authorize":
            self.authorize(q)
        else:
            self.error(404, "not_found")

    def activate(self, q):
        with self.st.lock:
            grant = self.st.by_user_code.get(q.get("user_code", ""))
            if grant is None:
                self.reply(404, "unknown code\n", "text/plain")
                return
            if "action" in q:
                grant["action"] = q["action"]
                grant["login"] = q.get("login", "")
        page = "<p>Sign in to approve code %s</p>\n" % grant["user_code"]
        write_atomic(os.path.join(self.st.root, "activate.html"), page)
        self.reply(200, page, "text/html")

    def authorize(self, q):
        cfg = self.st.config()
        if q.get("client_id") != cfg.get("client_id", "pam-cli") or not q.get("redirect_uri") or \
                not q.get("login") or q.get("response_type", "code") != "code":
            self.error(400, "invalid_request")
            return
        code = secrets.token_urlsafe(24)
        with self.st.lock:
            self.st.grants["code:" + code] = {"login": q["login"], "nonce": q.get("nonce"), "used": False,
                                              "redirect_uri": q["redirect_uri"], "action": q.get("action"),
                                              "form": {"scope": "openid"}}
        loc = q["redirect_uri"] + "?" + urllib.parse.urlencode({"code": code, "state": q.get("state", "")})
        self.send_response(302)
        self.send_header("Location", loc)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def code_token(self, cfg, form):
        with self.st.lock:
            grant = self.st.grants.get("code:" + form.get("code", ""))
            if grant is None or grant["used"] or grant["redirect_uri"] != form.get("redirect_uri"):
                grant = None
            else:
                grant["used"] = True
        if grant is None:
            self.error(400, "invalid_grant")
            return
        answer = self.tokens(cfg, grant)
        self.reply(200, answer)

    def form(self):
        n = int(self.headers.get("Content-Length", "0"))
        if n < 0 or n > MAX_BODY:
            return None
        body = self.rfile.read(n).decode()
        if self.headers.get("Content-Type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
            return None
        pairs = urllib.parse.parse_qsl(body, keep_blank_values=True, strict_parsing=True)
        form = {}
        for k, v in pairs:
            if k in form:
                return None  # RFC 6749 3.1: parameters must not repeat
            form[k] = v
        return form

    def client_ok(self, cfg, form):
        if form.get("client_id") != cfg.get("client_id", "pam-cli"):
            return False
        secret = cfg.get("client_secret")
        if secret is None:
            return "Authorization" not in self.headers
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Basic "):
            return False
        try:
            user, pw = base64.b64decode(auth[6:], validate=True).decode().split(":", 1)
        except (ValueError, UnicodeDecodeError):
            return False
        return urllib.parse.unquote_plus(user) == form["client_id"] and urllib.parse.unquote_plus(pw) == secret

    def do_POST(self):
        try:
            self.post()
        except Exception:
            # kept for the test to show: a failing test server must not look like a failing client
            with open(os.path.join(self.st.root, "errors"), "a") as f:
                traceback.print_exc(file=f)
            raise

    def post(self):
        url = urllib.parse.urlsplit(self.path)
        self.st.count(url.path.strip("/") or "_index")
        cfg = self.st.config()
        form = self.form()
        if form is None:
            self.error(400, "invalid_request")
        elif not self.client_ok(cfg, form):
            self.error(401, "invalid_client")
        elif url.path == "/device":
            self.device(cfg, form)
        elif url.path == "/token":
            self.token(cfg, form)
        else:
            self.error(404, "not_found")

    def device(self, cfg, form):
        write_atomic(os.path.join(self.st.root, "last_device_form.json"),
                     json.dumps(dict(form, basic_auth="Authorization" in self.headers)))
        if "device_status" in cfg:
            self.error(cfg["device_status"], "server_error")
            return
        letters = "BCDFGHJKLMNPQRSTVWXZ"
        user_code = "".join(secrets.choice(letters) for _ in range(4)) + "-" + \
            "".join(secrets.choice(letters) for _ in range(4))
        device_code = secrets.token_urlsafe(32)
        now = time.monotonic()
        grant = {"device_code": device_code, "user_code": user_code, "form": form,
                 "expires": now + cfg.get("expires_in", 60), "interval": cfg.get("interval", 1),
                 "last": now, "slow_down": cfg.get("slow_down", 0), "action": None, "used": False}
        with self.st.lock:
            self.st.grants[device_code] = grant
            self.st.by_user_code[user_code] = grant
        write_atomic(os.path.join(self.st.root, "last_user_code"), user_code + "\n")
        write_atomic(os.path.join(self.st.root, "last_device_code"), device_code + "\n")
        with open(os.path.join(self.st.root, "codes"), "a") as f:
            f.write("%s %s\n" % (user_code, device_code))
        write_atomic(os.path.join(self.st.root, "polls"), "")
        iss = self.issuer().replace("https:", cfg.get("verification_scheme", "https") + ":")
        answer = {"device_code": device_code, "user_code": user_code, "verification_uri": iss + "/activate",
                  "verification_uri_complete": iss + "/activate?user_code=" + user_code,
                  "expires_in": cfg.get("expires_in", 60), "interval": cfg.get("interval", 1)}
        if cfg.get("omit_complete"):
            del answer["verification_uri_complete"]
        self.reply(200, answer)

    def token(self, cfg, form):
        if form.get("grant_type") == "authorization_code":
            self.code_token(cfg, form)
            return
        if form.get("grant_type") != GRANT:
            self.error(400, "unsupported_grant_type")
            return
        jkt = None
        if cfg.get("dpop"):
            jkt, problem = self.dpop(cfg)
            if problem is not None:
                self.error(400, problem, {"DPoP-Nonce": self.st.dpop_nonce} if cfg.get("dpop_nonce") else None)
                return
        now = time.monotonic()
        with self.st.lock:
            grant = self.st.grants.get(form.get("device_code", ""))
            if grant is None or grant["used"]:
                code = "invalid_grant"
            else:
                with open(os.path.join(self.st.root, "polls"), "a") as f:
                    f.write("%.3f\n" % now)
                too_fast = now - grant["last"] < grant["interval"] - 0.01
                grant["last"] = now
                code = self.decide(grant, now, too_fast)
        if code not in ("too_fast", "slow_down", "expired_token") and "token_error" in cfg:
            code = cfg["token_error"]
        if code == "too_fast":
            self.st.count("too_fast")
            code = "slow_down"
        if code != "ok":
            self.error(400, code)
            return
        self.reply(200, self.tokens(cfg, grant, jkt))

    def decide(self, grant, now, too_fast):
        if now >= grant["expires"]:
            return "expired_token"
        if too_fast or grant["slow_down"] > 0:
            grant["slow_down"] = max(0, grant["slow_down"] - 1)
            grant["interval"] += 5
            return "too_fast" if too_fast else "slow_down"
        if grant["action"] is None:
            return "authorization_pending"
        if grant["action"] == "deny":
            grant["used"] = True
            return "access_denied"
        grant["used"] = True
        return "ok"

    def tokens(self, cfg, grant, jkt=None):
        t = int(time.time())
        login = grant["login"]
        base = {"iss": self.issuer(), "sub": "sub-" + login, "iat": t, "exp": t + 300,
                "preferred_username": login, "name": login.capitalize() + " Tester", "groups": ["devs"]}
        if jkt is not None:
            base["cnf"] = {"jkt": jkt}
        client = cfg.get("client_id", "pam-cli")
        idt = dict(base, aud=client)
        if grant.get("nonce") is not None:
            idt["nonce"] = grant["nonce"]
        idt.update(cfg.get("id_token_claims", {}))
        form = grant["form"]
        at = dict(base, aud=form.get("audience") or form.get("resource") or "api", scope=form.get("scope", ""),
                  client_id=client)
        at.update(cfg.get("access_token_claims", {}))
        key = self.st.args.bad_key if grant["action"] == "badkey" else self.st.args.key
        answer = {"access_token": self.st.mint(key, at), "token_type": "DPoP" if jkt else "Bearer", "expires_in": 300}
        if "openid" in form.get("scope", "").split():
            answer["id_token"] = self.st.mint(key, idt)
        if cfg.get("pad_token_answer"):
            answer["padding"] = "x" * cfg["pad_token_answer"]
        return answer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--tls-key", required=True)
    ap.add_argument("--mint", required=True, help="tests/jwt-mint")
    ap.add_argument("--alg", default="ES256")
    ap.add_argument("--key", required=True, help="the signing key (in the JWKS)")
    ap.add_argument("--bad-key", required=True, help="a key of the same alg that is not in the JWKS")
    ap.add_argument("--kid", default="k1")
    ap.add_argument("--timeout", type=float, default=600.0)
    args = ap.parse_args()

    return serve(Handler, args.root, args.cert, args.tls_key, args.timeout,
                 lambda server: setattr(server, "state", State(args)))


if __name__ == "__main__":
    sys.exit(main())
