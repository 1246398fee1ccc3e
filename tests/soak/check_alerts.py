#!/usr/bin/env python3
"""Alert notices received by the soak's webhook against cost_alerts, for scripts/soak.sh.

    check_alerts.py WEBHOOK_LOG PG_URL

WEBHOOK_LOG holds one alerter webhook body per line (tests/soak/webhook.py): JSON with
"alert": {"id", "tenant", "state", ...} (services/alerter/alerter_deliver.c). A notice
is one (tenant, alert id, state): the alerter sends each notice until one attempt
succeeds and records it in cost_alerts (delivery_status 'delivered').
Checks:
  - every line parses and carries alert.id, alert.tenant and alert.state;
  - no notice was received twice ("no alert sent twice");
  - every received notice is a cost_alerts row (same tenant and id);
  - every cost_alerts row is delivered (or 'none': nothing to deliver to) and a row
    recorded as delivered was received in its current state (nothing marked delivered
    that never arrived);
  - at least one notice arrived (otherwise the duplicate check proved nothing).
Prints a summary (and every problem) and exits 1 if any check fails, 2 on a read error.
"""
import collections
import json
import subprocess
import sys


def main():
    if len(sys.argv) != 3:
        sys.stderr.write("usage: check_alerts.py WEBHOOK_LOG PG_URL\n")
        return 2
    log, url = sys.argv[1], sys.argv[2]
    problems = []
    seen = collections.Counter()
    try:
        with open(log, "rb") as f:
            lines = [l for l in f.read().decode("utf-8", "replace").splitlines() if l.strip()]
    except FileNotFoundError:
        lines = []
    for n, line in enumerate(lines, 1):
        try:
            a = json.loads(line)["alert"]
            seen[(str(a["tenant"]), int(a["id"]), str(a["state"]))] += 1
        except (ValueError, KeyError, TypeError) as e:
            problems.append("webhook line %d is not an alert notice (%s): %.200s" % (n, e, line))
    for (tenant, aid, state), count in sorted(seen.items()):
        if count > 1:
            problems.append("alert %s/%d '%s' was sent %d times" % (tenant, aid, state, count))
    p = subprocess.run(["psql", "-X", "-q", "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1", url, "-c",
                        "SELECT tenant_id, alert_id, state, delivery_status, delivery_attempts,"
                        " kind, scope, period_key, threshold_pct FROM cost_alerts"
                        " ORDER BY tenant_id, alert_id"],
                       capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        print("alerts: cannot read cost_alerts: %s" % p.stderr.strip())
        return 2
    rows = {}
    statuses = collections.Counter()
    for line in p.stdout.splitlines():
        t, aid, state, status, attempts, kind, scope, period, pct = line.split("\t")
        rows[(t, int(aid))] = (state, status, int(attempts), kind, scope, period, pct)
        statuses[status] += 1
    for (tenant, aid, state) in sorted(seen):
        if (tenant, aid) not in rows:
            problems.append("notice %s/%d '%s' has no cost_alerts row" % (tenant, aid, state))
    for (tenant, aid), (state, status, attempts, kind, scope, period, pct) in sorted(rows.items()):
        what = "alert %s/%d (%s %s %s %s%%, %s)" % (tenant, aid, kind, scope, period, pct, state)
        if status not in ("delivered", "none"):
            problems.append("%s left %s after %d attempts" % (what, status, attempts))
        elif status == "delivered" and (tenant, aid, state) not in seen:
            problems.append("%s is marked delivered but never arrived" % what)
    if not seen:
        problems.append("no alert notice arrived: the duplicate check proved nothing")
    retried = sum(1 for r in rows.values() if r[2] > 1)
    print("alerts: %d cost_alerts rows (%s), %d notices received, %d rows took more than one"
          " attempt, %d problems"
          % (len(rows), ", ".join("%s %d" % kv for kv in sorted(statuses.items())) or "none",
             sum(seen.values()), retried, len(problems)))
    for pr in problems:
        print("alerts:   " + pr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
