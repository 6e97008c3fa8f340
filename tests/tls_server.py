#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""tls_server.py: what the test HTTPS servers share: 127.0.0.1 only, a free port, TLS, a bounded life.

serve(handler, root, cert, key, life, setup) listens on a free port of 127.0.0.1, lets setup(server) set the
server's attributes, writes the port to ROOT/port (atomically) once listening and serves until killed or
until `life` seconds have passed (os._exit, so the server goes away even if the test that started it dies).
Each connection gets its own thread; its TLS handshake happens there, with server.timeout_s (default 30 s)
on the socket, so a client that never completes it cannot stall the accept loop.
"""

import http.server
import os
import socketserver
import ssl
import threading


def write_atomic(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    timeout_s = 30.0

    def on_connection(self):
        """Called for every accepted connection, before the handshake."""

    def finish_request(self, request, client_address):
        self.on_connection()
        request.settimeout(self.timeout_s)
        try:
            conn = self.ctx.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            return
        try:
            self.RequestHandlerClass(conn, client_address, self)
        except (OSError, ssl.SSLError):
            pass


def serve(handler, root, cert, key, life, setup=None, server_class=Server):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    server = server_class(("127.0.0.1", 0), handler, bind_and_activate=True)
    server.ctx = ctx
    server.port = server.server_address[1]
    if setup is not None:
        setup(server)
    timer = threading.Timer(life, lambda: os._exit(0))
    timer.daemon = True
    timer.start()
    write_atomic(os.path.join(root, "port"), "%d\n" % server.port)
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    return 0
