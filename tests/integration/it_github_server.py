"""A stand-in for the GitHub REST API, for it_github.sh: issue 7 of acme/api answers a
rate-limit 403 first (X-RateLimit-Remaining: 0, reset 2 s ahead), then the issue;
issue 404 does not exist; comments are appended to a log. Every request, with its time
and whether it carried a token (and which: tok=<index> in the comma-separated list of
accepted tokens), goes to the log too."""
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

port, log_path, tokens = int(sys.argv[1]), sys.argv[2], sys.argv[3].split(",")
state = {"limited_until": 0}


def log(line):
    with open(log_path, "a") as f:
        f.write(line + "\n")


class Handler(BaseHTTPRequestHandler):
    def reply(self, status, body, headers=None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def authorized(self):
        given = self.headers.get("Authorization", "")
        which = [i for i, t in enumerate(tokens) if given == "Bearer " + t]
        ok = bool(which)
        log("%.3f %s %s auth=%s tok=%s" % (time.time(), self.command, self.path, ok,
                                           which[0] if ok else "-"))
        if not ok:
            self.reply(401, {"message": "Bad credentials"})
        return ok

    def do_GET(self):
        if not self.authorized():
            return
        if self.path == "/repos/acme/api/issues/7":
            now = time.time()
            if state["limited_until"] == 0:
                state["limited_until"] = now + 2
                log("limited until %.3f" % state["limited_until"])
                self.reply(403, {"message": "API rate limit exceeded"},
                           {"X-RateLimit-Remaining": "0",
                            "X-RateLimit-Reset": str(int(state["limited_until"]) + 1)})
                return
            self.reply(200, {"number": 7, "title": "Fix the flaky \"login\" test",
                             "labels": [{"name": "type:bug"}, {"name": "priority:high"},
                                        {"name": "area:ci"}]},
                       {"X-RateLimit-Remaining": "4999"})
            return
        self.reply(404, {"message": "Not Found"})

    def do_POST(self):
        if not self.authorized():
            return
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length).decode()
        log("COMMENT %s %s" % (self.path, body))
        self.reply(201, {"id": 1})

    def log_message(self, *args):
        pass


HTTPServer(("127.0.0.1", port), Handler).serve_forever()
