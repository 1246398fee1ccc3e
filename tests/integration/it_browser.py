#!/usr/bin/env python3
"""it_browser: drives headless Chromium over the DevTools protocol (--remote-debugging-pipe:
NUL-separated JSON on file descriptors 3 and 4, no websocket library needed) for the
dashboard's live test.

  it_browser.py <url> <wait-js> <then-cmd> <until-js> <timeout s>

Opens url; polls until the JavaScript expression wait-js is true (the page is live);
runs the shell command then-cmd (new spending); polls until until-js is true and prints
the page's HTML. Exits 1 (with the last HTML) if a condition is not met in time.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

url, wait_js, then_cmd, until_js, timeout = sys.argv[1:6]
timeout = float(timeout)
profile = tempfile.mkdtemp()
to_child_r, to_child_w = os.pipe()
from_child_r, from_child_w = os.pipe()


def child_fds():
    # Through fresh descriptors first: the pipes may sit on 3 or 4 themselves. os.pipe
    # descriptors close on exec; dup2 gives inheritable ones.
    a, b = os.dup(to_child_r), os.dup(from_child_w)
    os.dup2(a, 3)
    os.dup2(b, 4)
    os.set_inheritable(3, True)
    os.set_inheritable(4, True)


chrome = subprocess.Popen(
    ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
     "--disable-background-networking", "--disable-component-update", "--disable-sync",
     "--remote-debugging-pipe", f"--user-data-dir={profile}", "about:blank"],
    preexec_fn=child_fds, close_fds=False,
    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
os.close(to_child_r)
os.close(from_child_w)
buf = b""
next_id = 0


def call(method, params=None, session=None):
    global buf, next_id
    next_id += 1
    msg = {"id": next_id, "method": method, "params": params or {}}
    if session:
        msg["sessionId"] = session
    os.write(to_child_w, json.dumps(msg).encode() + b"\0")
    while True:
        while b"\0" not in buf:
            chunk = os.read(from_child_r, 65536)
            if not chunk:
                raise SystemExit("chromium closed the pipe")
            buf += chunk
        raw, buf = buf.split(b"\0", 1)
        reply = json.loads(raw)
        if reply.get("id") == next_id:
            if "error" in reply:
                raise SystemExit(f"{method}: {reply['error']}")
            return reply["result"]


def evaluate(session, expr):
    r = call("Runtime.evaluate", {"expression": expr, "returnByValue": True}, session)
    return r.get("result", {}).get("value")


def until(session, expr):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if evaluate(session, f"!!({expr})"):
            return True
        time.sleep(0.1)
    return False


try:
    target = call("Target.createTarget", {"url": url})["targetId"]
    session = call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    ok = until(session, wait_js)
    if ok:
        subprocess.run(then_cmd, shell=True, check=True)
        ok = until(session, until_js)
    print(evaluate(session, "document.documentElement.outerHTML"))
    sys.exit(0 if ok else 1)
finally:
    chrome.kill()
    chrome.wait()
    subprocess.run(["rm", "-rf", profile])
