#!/usr/bin/env python3
"""Webhook receiver for scripts/soak.sh.

    webhook.py PORT OUT_FILE

Listens on 127.0.0.1:PORT; appends the body of every POST, as one line, to OUT_FILE
(flushed and fsynced before answering, so an answered POST is always on disk) and
answers 200. The alerter's webhook bodies are single-line JSON (newlines in the text
are escaped), so the file is JSON lines. Anything else is answered 404.
"""
import http.server
import os
import sys
import threading


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    lock = threading.Lock()
    out = None

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n > 0 else b""
        line = body.replace(b"\n", b" ").rstrip() + b"\n"
        with Handler.lock:
            Handler.out.write(line)
            Handler.out.flush()
            os.fsync(Handler.out.fileno())
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", "3")
        self.end_headers()
        self.wfile.write(b"ok\n")

    def do_GET(self):
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, fmt, *args):
        sys.stderr.write("webhook: %s %s\n" % (self.address_string(), fmt % args))


def main():
    if len(sys.argv) != 3:
        sys.stderr.write("usage: webhook.py PORT OUT_FILE\n")
        return 2
    Handler.out = open(sys.argv[2], "ab")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    server.daemon_threads = True
    sys.stderr.write("webhook: listening on 127.0.0.1:%s\n" % sys.argv[1])
    sys.stderr.flush()
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
