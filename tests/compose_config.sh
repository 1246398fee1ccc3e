#!/usr/bin/env bash
# docker-compose.yml is valid (no Docker engine runs here, so this is the check CI can
# make): `docker-compose config` must parse it, resolve every anchor and variable, and
# list every service the deployment promises. Then the rendered file is checked for the
# isolation the deployment promises (docs/SECURITY.md): the reporter's plain HTTP on the
# host's loopback only, the reporter reading as the reader role with its own password and
# never holding the owner's URL, and the server's secret key only in the services that
# bind CurveZMQ sockets.
set -euo pipefail
root=${1:?usage: compose_config.sh <source root>}
cd "$root"
command -v docker-compose >/dev/null ||
  { echo "FAIL docker-compose is missing: Debian package docker-compose (scripts/deps.sh installs it)"; exit 1; }
export FLEETCOST_PG_PASSWORD=ci-owner-pw FLEETCOST_READER_PASSWORD=ci-reader-pw
out=$(docker-compose -f docker-compose.yml config)
services=$(docker-compose -f docker-compose.yml config --services | sort | tr '\n' ' ')
expected="aggregator alerter fleet ingest-1 ingest-2 migrate postgres postgres-standby redis redis-replica reporter sentinel-1 sentinel-2 sentinel-3 "
if [ "$services" != "$expected" ]; then
  echo "services: got '$services', expected '$expected'"
  exit 1
fi
# The password reaches the services through the environment, never the file in the repo.
grep -q "postgresql://fleetcost:ci-owner-pw@postgres:5432/fleetcost" <<<"$out" || { echo "PG URL not interpolated"; exit 1; }
# Without a password the file refuses to render, rather than starting with none.
for v in FLEETCOST_PG_PASSWORD FLEETCOST_READER_PASSWORD; do
  if env -u "$v" docker-compose -f docker-compose.yml config -q 2>/dev/null; then
    echo "config rendered without $v"
    exit 1
  fi
done
# Debian's python3 has yaml (docker-compose depends on python3-yaml).
"$([ -x /usr/bin/python3 ] && echo /usr/bin/python3 || echo python3)" - <<'PY' "$out"
import sys, yaml
cfg = yaml.safe_load(sys.argv[1])
svc = cfg["services"]
fails = []
def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        fails.append(what)

def ports(s):
    out = []
    for p in s.get("ports", []):
        if isinstance(p, dict):  # long syntax
            out.append((p.get("host_ip", ""), str(p.get("published", "")), str(p.get("target"))))
        else:
            parts = str(p).split("/")[0].split(":")
            host_ip = parts[0] if len(parts) == 3 else ""
            out.append((host_ip, parts[-2] if len(parts) > 1 else "", parts[-1]))
    return out

def mounts(s):
    m = []
    for v in s.get("volumes", []):
        if isinstance(v, dict):
            m.append((str(v.get("source", "")), str(v.get("target", ""))))
        else:
            parts = str(v).split(":")
            m.append((parts[0], parts[1] if len(parts) > 1 else parts[0]))
    for x in s.get("secrets", []):
        src = x["source"] if isinstance(x, dict) else x
        m.append((str(cfg.get("secrets", {}).get(src, {}).get("file", src)), src))
    return m

rep = svc["reporter"]
rp = ports(rep)
check(len(rp) > 0 and all(h == "127.0.0.1" for h, _, _ in rp),
      "reporter publishes HTTP on 127.0.0.1 only: %s" % rp)
env = rep.get("environment", {})
url = env.get("FLEETCOST_PG_READER_URL", "")
check(url.startswith("postgresql://fleetcost_reporter:ci-reader-pw@"),
      "reporter reads as fleetcost_reporter with the reader's password")
check("FLEETCOST_PG_URL" not in env and not any("ci-owner-pw" in str(v) for v in env.values()),
      "reporter has neither the owner's URL nor its password")
for name, s in svc.items():
    m = mounts(s)
    whole = [src for src, _ in m if src.rstrip("/").endswith("deploy/certs")]
    check(not whole, "%s does not mount the whole certificate directory" % name)
    has_secret = any(src.endswith("server.cert_secret") for src, _ in m)
    binds = name.startswith("ingest") or name in ("aggregator", "alerter")
    check(has_secret == binds, "%s %s the server's secret key" % (name, "mounts" if binds else "does not mount"))
    for src, tgt in m:
        if src.endswith("_secret") and "operator" not in src and "server" not in src:
            check(name == "fleet", "%s: client key %s only in the fleet" % (name, src))
# The postgres container gets the reader's password from its own file.
# The high-availability parts start only with the profile ha (docs/SCALING.md).
for name in ("postgres-standby", "redis-replica", "sentinel-1", "sentinel-2", "sentinel-3"):
    check(svc[name].get("profiles") == ["ha"], "%s only in the profile ha" % name)
check(all(not s.get("profiles") for n, s in svc.items() if n not in
          ("postgres-standby", "redis-replica", "sentinel-1", "sentinel-2", "sentinel-3")),
      "every other service runs without a profile")
pg_secrets = [x["source"] if isinstance(x, dict) else x for x in svc["postgres"].get("secrets", [])]
check("reader_password" in pg_secrets and
      cfg["secrets"]["reader_password"]["file"].endswith("deploy/reader_password"),
      "postgres gets deploy/reader_password")
# Docker's SIGKILL waits longer than the services' own stop deadline (20 s).
def seconds(v):
    v = str(v or "10s")
    return sum(float(n) * {"h": 3600, "m": 60, "s": 1}[u] for n, u in
               __import__("re").findall(r"([0-9.]+)([hms])", v))
for name in ("ingest-1", "ingest-2", "aggregator", "alerter", "reporter"):
    check(seconds(svc[name].get("stop_grace_period")) > 20,
          "%s: stop_grace_period %s outlasts its 20 s stop deadline"
          % (name, svc[name].get("stop_grace_period")))
sys.exit(1 if fails else 0)
PY
grep -q "reader_password" deploy/postgres-init.sql || { echo "postgres-init.sql does not set the reader's own password"; exit 1; }
echo "compose_config: ok ($services)"
