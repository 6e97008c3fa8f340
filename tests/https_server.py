#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""https_server.py: a test IdP on 127.0.0.1 serving files over HTTPS, with per-path scenarios and counters.

A request for /a/b.json is answered from ROOT/a_b.json ('/' becomes '_', the query is ignored); a missing
file is a 404. Beside the body file, optional scenario files:
  NAME.status   the HTTP status to answer (default 200)
  NAME.headers  extra header lines ("Location: ...", "Cache-Control: max-age=600")
  NAME.mode     "huge": stream 100 MiB with no Content-Length; "hang": read the request, never answer
"@PORT@" in a body or header file becomes the server's port. Every request increments ROOT/count/NAME and
every accepted connection ROOT/count/_connections (each a decimal number, replaced atomically); the last
User-Agent is kept in ROOT/count/NAME.ua. For "huge" the bytes actually sent end up in ROOT/count/NAME.sent. The port is written to ROOT/port once listening.
The server listens on 127.0.0.1 only and exits by itself after --timeout seconds.
"""

import argparse
import http.server
import os
import ssl
import sys
import threading
import time

import tls_server

HUGE_BYTES = 100 * 1024 * 1024
CHUNK = 64 * 1024


class Counters:
    def __init__(self, root):
        self.dir = os.path.join(root, "count")
        os.makedirs(self.dir, exist_ok=True)
        self.lock = threading.Lock()
        self.values = {}

    def set(self, name, value):
        with self.lock:
            self.values[name] = value
            self._write(name, value)

    def incr(self, name):
        with self.lock:
            value = self.values.get(name, 0) + 1
            self.values[name] = value
            self._write(name, value)

    def note(self, name, text):
        with self.lock:
            self._write(name, text)

    def _write(self, name, value):
        tls_server.write_atomic(os.path.join(self.dir, name), "%s\n" % value)


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "pam_jwt-test-idp"
    protocol_version = "HTTP/1.0"

    def log_message(self, fmt, *args):
        pass

    def _file(self, name):
        path = os.path.join(self.server.root, name)
        try:
            with open(path, "rb") as f:
                return f.read().replace(b"@PORT@", str(self.server.port).encode())
        except FileNotFoundError:
            return None

    def do_GET(self):
        name = self.path.split("?", 1)[0].lstrip("/").replace("/", "_") or "_index"
        if name.startswith("count") or "\0" in name:
            name = "_refused"
        self.server.counters.incr(name)
        self.server.counters.note(name + ".ua", self.headers.get("User-Agent", ""))
        mode = (self._file(name + ".mode") or b"").strip().decode()
        if mode == "hang":
            time.sleep(self.server.timeout_s)
            return
        body = self._file(name)
        status = int((self._file(name + ".status") or b"200").strip() or 200)
        if body is None and status == 200:
            status, body = 404, b"not found\n"
        self.send_response(status)
        headers = (self._file(name + ".headers") or b"").decode()
        for line in headers.splitlines():
            if ":" in line:
                key, value = line.split(":", 1)
                self.send_header(key.strip(), value.strip())
        if mode == "huge":
            self._stream_huge(name)
            return
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        self.wfile.write(body or b"")

    def _stream_huge(self, name):
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        sent = 0
        chunk = b" " * CHUNK
        try:
            while sent < HUGE_BYTES:
                self.wfile.write(chunk)
                sent += len(chunk)
        except (OSError, ssl.SSLError):
            pass
        self.server.counters.set(name + ".sent", sent)
        self.close_connection = True


class Server(tls_server.Server):
    def on_connection(self):
        self.counters.incr("_connections")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--timeout", type=float, default=300.0)
    args = ap.parse_args()

    def setup(server):
        server.root = args.root
        server.timeout_s = min(args.timeout, 60.0)
        server.counters = Counters(args.root)

    return tls_server.serve(Handler, args.root, args.cert, args.key, args.timeout, setup, Server)


if __name__ == "__main__":
    sys.exit(main())
