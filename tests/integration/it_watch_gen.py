#!/usr/bin/env python3
"""Generates Claude Code transcript trees for it_watch.sh, and computes the reference
totals independently of the watcher: every complete line ever written, one request per
(message.id, requestId) with the tokens of its largest line.

  it_watch_gen.py phase1 <root>     write the first state of the tree
  it_watch_gen.py phase2 <root>     grow, rotate, delete (after phase1)
  it_watch_gen.py reference <root> <phase> <since>
                                    print "tenant|session|events|in|out|cr|cw5m|cw1h|sidechain"
                                    rows of everything written up to <phase>
The tree's history (every byte written) is kept in <root>/history.json."""
import json
import os
import random
import sys

SAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures",
                      "claude-code", "session-sample.jsonl")


def line(session, cwd, ts, mid, rid, model, usage, stop=None, side=False, agent=None):
    d = {"parentUuid": None, "isSidechain": side, "userType": "external", "cwd": cwd,
         "sessionId": session, "version": "2.1.210", "type": "assistant",
         "message": {"id": mid, "type": "message", "role": "assistant", "model": model,
                     "stop_reason": stop, "content": [{"type": "text", "text": "x" * 40}],
                     "usage": usage},
         "requestId": rid, "uuid": "u-" + mid + str(ts), "timestamp": ts}
    if agent:
        d["agentId"] = agent
    return json.dumps(d, separators=(",", ":")) + "\n"


def user(session, cwd, ts):
    return json.dumps({"type": "user", "sessionId": session, "cwd": cwd, "timestamp": ts,
                       "message": {"role": "user", "content": [{"type": "tool_result",
                                                                "content": [[{"a": [1]}]]}]}},
                      separators=(",", ":")) + "\n"


def session_lines(rng, session, cwd, day, n, prefix, side=False, agent=None, last_stop=True):
    """n requests; each written as 1..3 lines with growing output_tokens. Returns a list
    of per-request line lists."""
    out = []
    for i in range(n):
        mid = "msg_%s_%03d" % (prefix, i)
        rid = "req_%s_%03d" % (prefix, i)
        model = rng.choice(["claude-sonnet-4-5-20250929", "claude-opus-4-1", "claude-haiku-4-5"])
        base = {"input_tokens": rng.randint(1, 5000), "cache_read_input_tokens": rng.randint(0, 90000)}
        cw = rng.randint(0, 20000)
        split = rng.random()
        if split < 0.3:
            base["cache_creation_input_tokens"] = cw  # no split: all 5m
        elif split < 0.6:
            h = rng.randint(0, cw)
            base["cache_creation_input_tokens"] = cw
            base["cache_creation"] = {"ephemeral_5m_input_tokens": cw - h,
                                      "ephemeral_1h_input_tokens": h}
        else:
            base["cache_creation_input_tokens"] = cw
            base["cache_creation"] = {"ephemeral_5m_input_tokens": 0,
                                      "ephemeral_1h_input_tokens": cw}
        parts = rng.randint(1, 3)
        outs = sorted(rng.sample(range(1, 3000), parts))
        lines = []
        for p in range(parts):
            u = dict(base, output_tokens=outs[p])
            ts = "%sT%02d:%02d:%02d.%03dZ" % (day, 8 + i // 60, i % 60, p * 2, rng.randint(0, 999))
            final = p == parts - 1
            # most responses end with a stop_reason; some do not (completed by what follows)
            stop = ("end_turn" if rng.random() < 0.7 else None) if final else None
            if final and i == n - 1 and last_stop:
                stop = "end_turn"
            lines.append(line(session, cwd, ts, mid, rid, model, u, stop, side, agent))
        out.append(lines)
    return out


def flat(reqs):
    return "".join("".join(r) for r in reqs)


def paths(root):
    acme = os.path.join(root, "c1", "projects", "-srv-agents-acme-api")
    beta = os.path.join(root, "c2", "projects", "-srv-beta-web")
    return acme, beta


def write(root, hist, rel, text, mode):
    p = os.path.join(root, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, mode) as f:
        f.write(text)
    hist.setdefault(rel, []).append([mode, text])


def phase1(root):
    rng = random.Random(8)
    hist = {}
    s1 = session_lines(rng, "sess-1", "/srv/agents/acme/api", "2026-11-27", 25, "s1")
    text = flat(s1[:10]) + user("sess-1", "/srv/agents/acme/api", "2026-11-27T08:30:00Z")
    text += "{this is not json\n\n"
    text += json.dumps({"type": "assistant", "sessionId": "sess-1", "timestamp": "2026-11-27T08:31:00Z",
                        "message": {"id": "syn", "model": "<synthetic>", "usage": {"input_tokens": 0}},
                        "requestId": "req-syn"}) + "\n"
    text += flat(s1[10:])
    write(root, hist, "c1/projects/-srv-agents-acme-api/sess-1.jsonl", text, "w")
    sub = session_lines(rng, "sess-1", "/srv/agents/acme/api", "2026-11-27", 8, "s1a", True, "ab12")
    write(root, hist, "c1/projects/-srv-agents-acme-api/sess-1/subagents/agent-ab12.jsonl",
          flat(sub), "w")
    # An old session, before --since: skipped.
    old = session_lines(rng, "sess-old", "/srv/agents/acme/api", "2025-06-01", 4, "old")
    write(root, hist, "c1/projects/-srv-agents-acme-api/sess-old.jsonl", flat(old), "w")
    # Growing: stops after the first line of a streamed request, then half a line.
    s3 = session_lines(rng, "sess-3", "/srv/beta/web", "2026-11-28", 12, "s3")
    while len(s3[6]) < 3:
        s3 = session_lines(rng, "sess-3", "/srv/beta/web", "2026-11-28", 12, "s3")
    head = flat(s3[:6]) + s3[6][0] + s3[6][1][:57]
    write(root, hist, "c2/projects/-srv-beta-web/sess-3.jsonl", head, "w")
    # Rotated in phase 2.
    s4 = flat(session_lines(rng, "sess-4", "/srv/beta/web", "2026-11-28", 3, "s4"))
    write(root, hist, "c2/projects/-srv-beta-web/sess-4.jsonl", s4, "w")
    s4 += flat(session_lines(rng, "sess-4", "/srv/beta/web", "2026-11-29", 2, "s4b"))
    # Deleted in phase 2.
    s5 = session_lines(rng, "sess-5", "/srv/agents/acme/api", "2026-11-29", 6, "s5")
    write(root, hist, "c1/projects/-srv-agents-acme-api/sess-5.jsonl", flat(s5), "w")
    with open(SAMPLE) as f:
        write(root, hist, "c2/projects/-srv-agents-acme-repo-api/sample.jsonl", f.read(), "w")
    json.dump({"hist": hist, "s3": [flat(s3), len(head)], "s4": s4,
               "pending": ["msg_s3_006", "req_s3_006"]},
              open(os.path.join(root, "history.json"), "w"))


def phase2(root):
    h = json.load(open(os.path.join(root, "history.json")))
    hist = h["hist"]
    full, done = h["s3"]
    write(root, hist, "c2/projects/-srv-beta-web/sess-3.jsonl", full[done:], "a")
    # Rotation: a new file (new inode) under the same name: the old requests again, and more.
    p = os.path.join(root, "c2/projects/-srv-beta-web/sess-4.jsonl")
    os.rename(p, p + ".old")
    write(root, hist, "c2/projects/-srv-beta-web/sess-4.jsonl", h["s4"], "w")
    os.unlink(p + ".old")
    os.unlink(os.path.join(root, "c1/projects/-srv-agents-acme-api/sess-5.jsonl"))
    rng = random.Random(9)
    s6 = session_lines(rng, "sess-6", "/srv/agents/acme/api", "2026-11-30", 7, "s6")
    write(root, hist, "c1/projects/-srv-agents-acme-api/new/sess-6.jsonl", flat(s6), "w")
    h["hist"] = hist
    json.dump(h, open(os.path.join(root, "history.json"), "w"))


def reference(root, phase, since):
    h = json.load(open(os.path.join(root, "history.json")))
    best = {}
    order = []
    for rel, writes in h["hist"].items():
        content = ""
        texts = []
        for mode, text in writes:
            if mode == "w":
                texts.append(content)
                content = ""
            content += text
        texts.append(content)
        for text in texts:
            for ln in text.split("\n")[:-1]:  # complete lines only
                try:
                    d = json.loads(ln)
                except ValueError:
                    continue
                if not isinstance(d, dict) or d.get("type") != "assistant":
                    continue
                m = d.get("message") or {}
                u = m.get("usage")
                if not u or m.get("model") == "<synthetic>":
                    continue
                key = (m["id"], d.get("requestId", ""))
                if phase == "1" and list(key) == h["pending"]:
                    continue
                cc = u.get("cache_creation") or {}
                w1 = cc.get("ephemeral_1h_input_tokens") or 0
                w5 = cc.get("ephemeral_5m_input_tokens") or 0
                cw = u.get("cache_creation_input_tokens") or 0
                if cw > w5 + w1:
                    w5 = cw - w1
                t = (u.get("input_tokens") or 0, u.get("output_tokens") or 0,
                     u.get("cache_read_input_tokens") or 0, w5, w1)
                if key not in best:
                    best[key] = [d["timestamp"], t, d, bool(d.get("isSidechain"))]
                    order.append(key)
                elif sum(t) > sum(best[key][1]):
                    best[key][1] = t
    rows = {}
    for key in order:
        ts, t, d, side = best[key]
        if ts < since:
            continue
        tenant = "acme" if d["cwd"].startswith("/srv/agents/acme/") else "beta"
        r = rows.setdefault((tenant, d["sessionId"]), [0, 0, 0, 0, 0, 0, 0])
        r[0] += 1
        for i in range(5):
            r[1 + i] += t[i]
        r[6] += side
    for (tenant, sess), r in sorted(rows.items()):
        print("|".join([tenant, sess] + [str(x) for x in r]))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "phase1":
        phase1(sys.argv[2])
    elif cmd == "phase2":
        phase2(sys.argv[2])
    else:
        reference(sys.argv[2], sys.argv[3], sys.argv[4])
