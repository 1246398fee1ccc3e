#!/usr/bin/env python3
"""it_reporter_tz_check: an all-tenant view against the sum of its tenants' views.

  report <all.json> <tenant.json>...   reports (/api/v1/reports, fleetcost report --format json)
  costs <group> <all.json> <tenant.json>...   /api/v1/costs answers of one group

Every figure of the all-tenant document must equal, in integers (nano-USD, tokens,
counts), the sum of the same figure over the tenant documents; keyed rows (by day, model,
agent type, kind, agent, task, tenant) add up key by key; lists of alerts and windows
are the union. Prints each mismatch and exits 1 if there was one; prints how many
figures it compared.
"""
import json
import sys
from collections import defaultdict

checked = 0
bad = []


def leaves(obj, prefix=""):
    """Numeric leaves of a JSON object as {path: int} (strings such as USD text skipped)."""
    out = {}
    for k, v in obj.items():
        if isinstance(v, bool):
            continue
        if isinstance(v, int):
            out[prefix + k] = v
        elif isinstance(v, dict):
            out.update(leaves(v, prefix + k + "."))
    return out


def add(acc, d):
    for k, v in d.items():
        acc[k] += v


def same(what, got, want):
    global checked
    checked += 1
    if got != want:
        bad.append(f"{what}: all-tenant {got} != sum of tenants {want}")


def compare_leaves(what, all_obj, tenant_objs):
    want = defaultdict(int)
    for t in tenant_objs:
        add(want, leaves(t))
    got = leaves(all_obj)
    for k in sorted(set(got) | set(want)):
        same(f"{what}.{k}", got.get(k, 0), want.get(k, 0))


def keyed(rows, keys):
    return {tuple(r.get(k, "") for k in keys): r for r in rows}


def compare_rows(what, all_rows, tenant_rows_list, keys):
    want = defaultdict(lambda: defaultdict(int))
    for rows in tenant_rows_list:
        for key, r in keyed(rows, keys).items():
            add(want[key], leaves(r))
    got = keyed(all_rows, keys)
    for key in sorted(set(got) | set(want)):
        g = leaves(got[key]) if key in got else {}
        w = want.get(key, {})
        for f in sorted(set(g) | set(w)):
            same(f"{what}[{'/'.join(key)}].{f}", g.get(f, 0), w.get(f, 0))


def report(all_doc, docs):
    same("tenant", all_doc["tenant"], "*")
    for name in ("summary", "today", "cache", "reported_vs_computed"):
        compare_leaves(name, all_doc[name], [d[name] for d in docs])
    same("unpriced.events", all_doc["unpriced"]["events"], sum(d["unpriced"]["events"] for d in docs))
    same("agents_with_cost", all_doc["agents_with_cost"], sum(d["agents_with_cost"] for d in docs))
    same("alerts.total", all_doc["alerts"]["total"], sum(d["alerts"]["total"] for d in docs))
    alerts = lambda items: sorted(json.dumps(a, sort_keys=True) for a in items)
    same("alerts.items", alerts(all_doc["alerts"]["items"]), alerts(a for d in docs for a in d["alerts"]["items"]))
    for name, keys in (("by_day", ["day"]), ("by_kind", ["kind"]), ("by_agent_type", ["agent_type"]),
                       ("by_model", ["model"]), ("by_agent", ["tenant", "agent"]),
                       ("today_by_tenant", ["tenant", "day"]), ("top_tasks", ["tenant", "task"])):
        compare_rows(name, all_doc[name], [d[name] for d in docs], keys)
    # by_tenant: one row per tenant, equal to that tenant's own summary
    by_tenant = keyed(all_doc["by_tenant"], ["tenant"])
    for d in docs:
        row = by_tenant.get((d["tenant"],), {})
        for f, v in leaves(d["summary"]).items():
            if f in leaves(row) or f in ("cost_nusd", "events"):
                same(f"by_tenant[{d['tenant']}].{f}", leaves(row).get(f, 0), v)
    same("windows", sorted(json.dumps(w, sort_keys=True) for w in all_doc["windows"]),
         sorted(json.dumps(w, sort_keys=True) for d in docs for w in d["windows"]))


def costs(group, all_doc, docs):
    keys = ["key", "tenant"] if group in ("agent", "task") else ["key"]
    compare_rows(f"costs[{group}]", all_doc["rows"], [d["rows"] for d in docs], keys)
    same(f"costs[{group}].windows", sorted(json.dumps(w, sort_keys=True) for w in all_doc["windows"]),
         sorted(json.dumps(w, sort_keys=True) for d in docs for w in d["windows"]))


def main():
    mode = sys.argv[1]
    if mode == "report":
        files = sys.argv[2:]
        report(*(lambda l: (l[0], l[1:]))([json.load(open(f)) for f in files]))
    elif mode == "costs":
        group, files = sys.argv[2], sys.argv[3:]
        loaded = [json.load(open(f)) for f in files]
        costs(group, loaded[0], loaded[1:])
    else:
        sys.exit("usage: it_reporter_tz_check.py report|costs ...")
    for b in bad[:20]:
        print("  " + b)
    print(f"  {checked} figures compared, {len(bad)} differ")
    sys.exit(1 if bad else 0)


main()
