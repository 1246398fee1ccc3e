#!/usr/bin/env python3
"""Redis running totals against their SQL sums, for scripts/soak.sh.

    check_totals.py PG_URL REDIS_PORT [--verbose] [--tenants A,B,...]

For every tenant and tenant-local day and month (tenants.tz) of the events that carry a
cost (cost_kind IS NOT NULL), the aggregator keeps in Redis:
  fc:{T}:day:<YYYY-MM-DD> and fc:{T}:month:<YYYY-MM>   hashes: the totals cost_nusd,
      input_tokens, output_tokens, cache_read_tokens, cache_write_5m_tokens,
      cache_write_1h_tokens, events, unpriced_events, and the breakdown fields
      agent_type:<x>, model:<family>, agent:<id>, kind:<cost kind>, speed:<x> (usage
      without a speed is standard, cost events ''), provider:<the price version's, ''
      when unpriced> (cost of each)
  ...:agents     set of the agents active in the period
  ...:taskcost   hash task -> cost
  ...:tasks      sorted set task -> cost (mirror of taskcost)
Every one of them is compared both ways (a Redis key or field that SQL does not have
counts unless it is zero; a missing one counts as zero). Prints one summary line (and
every difference with --verbose) and exits with the number of differences (capped at
100), 0 when Redis equals SQL. Exit 101 when Postgres or Redis cannot be read.
--tenants compares only those tenants' keys (a test whose other tenants lost events
to retention on purpose: Redis keeps the totals of days retention dropped).
"""
import re
import socket
import subprocess
import sys

TOTALS = ["cost_nusd", "input_tokens", "output_tokens", "cache_read_tokens",
          "cache_write_5m_tokens", "cache_write_1h_tokens", "events", "unpriced_events",
          "billed_nusd"]

SQL_TOTALS = """
SELECT e.tenant_id, to_char(e.event_time AT TIME ZONE t.tz, {fmt}),
       sum(cost_nusd), sum(input_tokens), sum(output_tokens), sum(cache_read_tokens),
       sum(cache_write_5m_tokens), sum(cache_write_1h_tokens), count(*),
       count(*) FILTER (WHERE unpriced), sum(coalesce(billed_nusd, cost_nusd)),
       count(DISTINCT agent_id)
  FROM events e JOIN tenants t USING (tenant_id) WHERE cost_kind IS NOT NULL
 GROUP BY 1, 2"""
SQL_FIELDS = """
SELECT e.tenant_id, to_char(e.event_time AT TIME ZONE t.tz, {fmt}), f, sum(e.cost_nusd)
  FROM events e JOIN tenants t USING (tenant_id)
       LEFT JOIN price_versions p ON p.version_id = e.price_version,
       LATERAL (VALUES ('agent_type:' || coalesce(e.agent_type, '')),
                       ('model:' || coalesce(e.model_family, '')),
                       ('agent:' || coalesce(e.agent_id, '')),
                       ('kind:' || e.cost_kind),
                       ('speed:' || CASE WHEN e.event_type = 'usage'
                                         THEN coalesce(e.speed, 'standard') ELSE '' END),
                       ('provider:' || coalesce(p.provider, ''))) AS x(f)
 WHERE e.cost_kind IS NOT NULL GROUP BY 1, 2, 3"""
SQL_TASKS = """
SELECT e.tenant_id, to_char(e.event_time AT TIME ZONE t.tz, {fmt}), task_id, sum(cost_nusd)
  FROM events e JOIN tenants t USING (tenant_id)
 WHERE cost_kind IS NOT NULL AND task_id IS NOT NULL GROUP BY 1, 2, 3"""

KEY_RE = re.compile(r"^fc:\{(.+)\}:(day|month):(\d{4}-\d{2}(?:-\d{2})?)(:agents|:taskcost|:tasks)?$")


class Redis:
    """Just enough RESP for SCAN, HGETALL, SMEMBERS, ZRANGE and TYPE."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise IOError("redis closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise IOError("redis closed the connection")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def _reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise IOError("redis: " + rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n).decode()
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._reply() for _ in range(n)]
        raise IOError("redis: unexpected reply %r" % line)

    def cmd(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            b = str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(b), b))
        self.sock.sendall(b"".join(out))
        return self._reply()


def psql(url, sql):
    p = subprocess.run(["psql", "-X", "-q", "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1", url,
                        "-c", sql], capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise IOError("psql: " + p.stderr.strip())
    return [line.split("\t") for line in p.stdout.splitlines() if line]


def expected(url):
    """{redis key: {field: int}} for hashes, {key: set-size} for :agents."""
    hashes, sets = {}, {}
    for what, fmt in (("day", "'YYYY-MM-DD'"), ("month", "'YYYY-MM'")):
        for row in psql(url, SQL_TOTALS.format(fmt=fmt)):
            key = "fc:{%s}:%s:%s" % (row[0], what, row[1])
            h = hashes.setdefault(key, {})
            for name, v in zip(TOTALS, row[2:11]):
                h[name] = int(v or 0)
            sets[key + ":agents"] = int(row[11])
        for row in psql(url, SQL_FIELDS.format(fmt=fmt)):
            key = "fc:{%s}:%s:%s" % (row[0], what, row[1])
            hashes.setdefault(key, {})[row[2]] = int(row[3] or 0)
        for row in psql(url, SQL_TASKS.format(fmt=fmt)):
            key = "fc:{%s}:%s:%s" % (row[0], what, row[1])
            hashes.setdefault(key + ":taskcost", {})[row[2]] = int(row[3] or 0)
            hashes.setdefault(key + ":tasks", {})[row[2]] = int(row[3] or 0)
    return hashes, sets


def actual(port):
    r = Redis(port)
    keys, cursor = [], "0"
    while True:
        cursor, batch = r.cmd("SCAN", cursor, "MATCH", "fc:*", "COUNT", 1000)
        keys.extend(batch)
        if cursor == "0":
            break
    hashes, sets = {}, {}
    for key in set(keys):
        m = KEY_RE.match(key)
        if not m:
            continue
        suffix = m.group(4) or ""
        if suffix == ":agents":
            sets[key] = len(r.cmd("SMEMBERS", key) or [])
        elif suffix == ":tasks":
            flat = r.cmd("ZRANGE", key, 0, -1, "WITHSCORES") or []
            hashes[key] = {flat[i]: int(float(flat[i + 1])) for i in range(0, len(flat), 2)}
        else:
            flat = r.cmd("HGETALL", key) or []
            hashes[key] = {flat[i]: int(flat[i + 1]) for i in range(0, len(flat), 2)}
    return hashes, sets


def main():
    if len(sys.argv) < 3:
        sys.stderr.write("usage: check_totals.py PG_URL REDIS_PORT [--verbose]\n")
        return 101
    url, port, verbose = sys.argv[1], int(sys.argv[2]), "--verbose" in sys.argv[3:]
    only = None
    if "--tenants" in sys.argv[3:-1]:
        only = set(sys.argv[sys.argv.index("--tenants") + 1].split(","))
    try:
        want_h, want_s = expected(url)
        got_h, got_s = actual(port)
    except (IOError, OSError, ValueError, subprocess.SubprocessError) as e:
        print("totals: cannot read: %s" % e)
        return 101
    if only is not None:
        def keep(d):
            return {k: v for k, v in d.items() if KEY_RE.match(k).group(1) in only}
        want_h, want_s, got_h, got_s = keep(want_h), keep(want_s), keep(got_h), keep(got_s)
    diffs = []
    for key in sorted(set(want_h) | set(got_h)):
        w, g = want_h.get(key, {}), got_h.get(key, {})
        for field in sorted(set(w) | set(g)):
            if w.get(field, 0) != g.get(field, 0):
                diffs.append("%s %s: redis %s, sql %s" % (key, field, g.get(field, "(none)"),
                                                          w.get(field, "(none)")))
    for key in sorted(set(want_s) | set(got_s)):
        if want_s.get(key, 0) != got_s.get(key, 0):
            diffs.append("%s size: redis %s, sql %s" % (key, got_s.get(key, 0), want_s.get(key, 0)))
    periods = [k for k in want_h if re.match(r"^fc:\{.+\}:(day|month):[0-9-]+$", k)]
    events = sum(want_h[k].get("events", 0) for k in periods if ":day:" in k)
    print("totals: %d day/month hashes, %d priced events, %d redis keys compared, %d differences"
          % (len(periods), events, len(got_h) + len(got_s), len(diffs)))
    if verbose:
        for d in diffs[:200]:
            print("totals:   " + d)
        if len(diffs) > 200:
            print("totals:   ... %d more" % (len(diffs) - 200))
    return min(len(diffs), 100)


if __name__ == "__main__":
    sys.exit(main())
