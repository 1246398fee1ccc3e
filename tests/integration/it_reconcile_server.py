"""A stand-in for Anthropic's Admin API usage and cost endpoints, for it_reconcile.sh,
serving the pages of tests/fixtures/anthropic-admin/ (docs/RECONCILE.md §1).

cost_report, first page: the first request gets the fixture 429 (its Retry-After set to
the seconds given on the command line), later ones the page. Second page (page=<cursor>
of the first): first a page whose amount is a JSON number, then a page cut off mid-way,
then the real page with one description longer than the reader's bound (300 bytes),
then the real page. usage_report/messages: first the 429 without Retry-After (its reset
time long past), then the same with the reset time moved to 2 s ahead (logged as
"reset <epoch>"), then the one page. Every request must carry the Admin
key and anthropic-version, and the query the fixtures were made for; anything else is
answered with an API error. POST /hook/<name> stands in for the operator's webhook.
Every request goes to the log with its time and answer.

usage: it_reconcile_server.py <port> <log> <admin key> <fixtures dir> <retry-after s>"""
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

port, log_path, key, fixtures, retry_after = (int(sys.argv[1]), sys.argv[2], sys.argv[3],
                                              sys.argv[4], sys.argv[5])
CURSOR = "page_MjAyNi0xMi0wM1QwMDowMDowMFo="
RANGE = {"starting_at": ["2026-12-01T00:00:00Z"], "ending_at": ["2026-12-04T00:00:00Z"],
         "bucket_width": ["1d"]}
served = {"page1": 0, "page2": 0, "usage": 0}


def log(line):
    with open(log_path, "a") as f:
        f.write(line + "\n")


def fixture(name):
    with open(os.path.join(fixtures, name), "rb") as f:
        return f.read()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def send(self, status, body, headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        log("%.3f %s %s -> %d" % (time.time(), self.command, self.path, status))

    def error(self, status, kind, message):
        body = json.dumps({"type": "error", "error": {"type": kind, "message": message},
                           "request_id": "req_fake"}).encode()
        self.send(status, body, [("content-type", "application/json")])

    def raw(self, name, reset=None):
        """Answers with a raw HTTP fixture (status line, headers, blank line, body);
        reset: an epoch second for anthropic-ratelimit-requests-reset instead of its own."""
        head, _, body = fixture(name).partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        status = int(lines[0].split()[1])
        headers = []
        for line in lines[1:]:
            k, _, v = line.partition(":")
            if k.lower() == "retry-after":
                v = retry_after
            if k.lower() == "anthropic-ratelimit-requests-reset" and reset:
                v = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(reset))
                log("%.3f reset %d" % (time.time(), reset))
            headers.append((k, v.strip()))
        log("%.3f limited %s" % (time.time(), name))
        self.send(status, body, headers)

    def do_GET(self):
        if self.headers.get("x-api-key") != key:
            return self.error(401, "authentication_error", "invalid x-api-key")
        if self.headers.get("anthropic-version") != "2023-06-01":
            return self.error(400, "invalid_request_error", "anthropic-version missing")
        url = urlsplit(self.path)
        q = parse_qs(url.query)
        for k, v in RANGE.items():
            if q.get(k) != v:
                return self.error(400, "invalid_request_error", "unexpected %s" % k)
        if url.path == "/v1/organizations/cost_report":
            if q.get("group_by[]") != ["workspace_id", "description"] or q.get("limit") != ["2"]:
                return self.error(400, "invalid_request_error", "unexpected grouping or limit")
            page = q.get("page", [None])[0]
            if page is None:
                served["page1"] += 1
                if served["page1"] == 1:
                    return self.raw("http_429_retry_after.http")
                return self.send(200, fixture("cost_report_page1.json"))
            if page != CURSOR:
                return self.error(400, "invalid_request_error", "unknown page")
            served["page2"] += 1
            if served["page2"] == 3:
                page = json.loads(fixture("cost_report_page2.json"))
                page["data"][0]["results"][4]["description"] = "x" * 300
                return self.send(200, json.dumps(page).encode())
            name = {1: "cost_report_page2_bad_amount.json",
                    2: "cost_report_page2_truncated.json"}.get(served["page2"],
                                                               "cost_report_page2.json")
            return self.send(200, fixture(name))
        if url.path == "/v1/organizations/usage_report/messages":
            if q.get("group_by[]") != ["workspace_id", "model"]:
                return self.error(400, "invalid_request_error", "unexpected grouping")
            served["usage"] += 1
            if served["usage"] == 1:
                return self.raw("http_429_no_retry_after.http")
            if served["usage"] == 2:
                return self.raw("http_429_no_retry_after.http", int(time.time()) + 2)
            return self.send(200, fixture("usage_report_messages.json"))
        self.error(404, "not_found_error", "no such endpoint")

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(min(length, 1 << 20)).decode(errors="replace")
        log("HOOK %s %s" % (self.path, body.replace("\n", " ")))
        self.send(200, b"ok")

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
