#!/usr/bin/env bash
# sec_reporter_limits: one tenant key, one client address or slow clients cannot take
# the reporter's connection threads or its database pool (issue #15).
#   * live streams up to --max-streams-per-key with one key are served; the next one is
#     answered 429 with Retry-After; another key is still served;
#   * streams from one address stop at --max-streams-per-address (429);
#   * raw sockets that send half a request header, from one address, fill
#     --max-connections-per-address; the next connection from it is closed at once;
#   * while all that is held, /healthz answers 200 within 2 s;
#   * the half-sent requests are closed by the inactivity timeout (--http-timeout);
#   * streams of a past day read Postgres once, not every 500 ms;
#   * a released stream slot is given to the next client.
#   sec_reporter_limits.sh <fleetcost> <fleetcost-reporter>
fc=${1:?usage: sec_reporter_limits.sh <fleetcost> <fleetcost-reporter>}
reporter=${2:?}
. "$(dirname "$0")/../integration/lib.sh"
it_setup sec_reporter_limits
"$fc" migrate --pg-url "$IT_URL" >/dev/null || it_die "migrate failed"
http=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; it_cleanup' EXIT
for t in lim1 lim2 lim3; do
  "$fc" tenant set --pg-url "$IT_URL" --tenant "$t" --tz UTC >/dev/null || it_die "tenant set"
done
key_of() { "$fc" key create --pg-url "$IT_URL" --tenant "$1" 2>/dev/null | grep -o 'fck_[0-9a-f_]*' | head -n 1; }
k1=$(key_of lim1); k2=$(key_of lim2); k3=$(key_of lim3)
[ -n "$k1" ] && [ -n "$k2" ] && [ -n "$k3" ] || it_die "key create"

timeout_s=3
"$reporter" --insecure --http-port "$http" --http-bind 127.0.0.1 --pg-reader-url "$IT_READER_URL" \
  --aggregator-pub "" --max-connections 32 --max-streams-per-key 3 --max-streams-per-address 4 \
  --max-connections-per-address 5 --http-timeout "$timeout_s" 2>"$IT_TMP/reporter.log" &
pids+=($!)
base="http://127.0.0.1:$http"
deadline=$((SECONDS + 60))
until curl -sf "$base/healthz" -o /dev/null; do
  [ $SECONDS -ge $deadline ] && it_die "reporter did not start"
  sleep 0.05
done
metric() { curl -s --max-time 5 "$base/metrics" | awk -v m="fleetcost_reporter_$1" '$1 == m {print $2}'; }
past=$(it_date -3)

# A stream held in the background from a source address; its output in $IT_TMP/<name>.
stream() { # name key address
  curl -sN --max-time 300 --interface "$3" -H "Authorization: Bearer $2" \
    "$base/api/v1/stream?tenant=$(tenant_of "$2")&day=$past" >"$IT_TMP/$1.out" 2>/dev/null &
  pids+=($!)
  eval "pid_$1=$!"
}
tenant_of() { case $1 in "$k1") echo lim1 ;; "$k2") echo lim2 ;; *) echo lim3 ;; esac; }
wait_totals() { # name...
  local d=$((SECONDS + 30)) n
  for n in "$@"; do
    until grep -q '^event: totals' "$IT_TMP/$n.out" 2>/dev/null; do
      [ $SECONDS -ge $d ] && return 1
      sleep 0.05
    done
  done
}
# One more stream, answered at once: prints the status and the Retry-After header.
attempt() { # key address
  curl -s --interface "$2" --max-time 5 -D "$IT_TMP/h.txt" -o "$IT_TMP/b.txt" -w '%{http_code}' \
    -H "Authorization: Bearer $1" "$base/api/v1/stream?tenant=$(tenant_of "$1")&day=$past"
  echo " $(tr -d '\r' <"$IT_TMP/h.txt" | awk -F': ' 'tolower($1) == "retry-after" {print $2}')"
}

# 1. Per key: three streams of k1 (from three addresses, so only the key limit binds).
reads0=$(metric live_db_reads_total)
stream a1 "$k1" 127.0.0.11
stream a2 "$k1" 127.0.0.12
stream a3 "$k1" 127.0.0.13
check "three streams of one key are served" wait_totals a1 a2 a3
expect_eq "the fourth stream of that key is refused with Retry-After" "$(attempt "$k1" 127.0.0.14)" "429 30"
check "the refusal names the key limit" grep -q "this API key" "$IT_TMP/b.txt"
# 2. Per address: four streams from 127.0.0.21 (two keys), the fifth is refused.
stream b1 "$k2" 127.0.0.21
stream b2 "$k2" 127.0.0.21
stream b3 "$k3" 127.0.0.21
stream b4 "$k3" 127.0.0.21
check "another key is still served (four streams from one address)" wait_totals b1 b2 b3 b4
expect_eq "a fifth stream from that address is refused" "$(attempt "$k3" 127.0.0.21 | cut -d' ' -f1)" 429
check "the refusal names the address limit" grep -q "this client address" "$IT_TMP/b.txt"
expect_eq "live_streams gauge" "$(metric live_streams)" 7
check "refusals are counted" test "$(metric live_streams_refused_total)" -ge 2

# 3. Slow headers from one address while the streams are held: five half-sent requests
# fill the per-address limit, the sixth connection is closed at once, /healthz (another
# address) answers within 2 s, and the five are closed by the inactivity timeout.
python3 - "$http" "$timeout_s" >"$IT_TMP/slow.txt" 2>&1 <<'PY'
import socket, sys, time, urllib.request
port, timeout_s = int(sys.argv[1]), int(sys.argv[2])
def slow():
    s = socket.socket()
    s.bind(("127.0.0.31", 0))
    s.connect(("127.0.0.1", port))
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    return s
held = [slow() for _ in range(5)]
time.sleep(0.3)  # the server has accepted them (nothing to await from outside)
extra = slow()
extra.settimeout(2)
try:
    refused = extra.recv(1) == b""
except ConnectionResetError:
    refused = True
except socket.timeout:
    refused = False
print("sixth_closed", int(refused))
t0 = time.monotonic()
try:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
        status = r.status
except Exception as e:
    status = str(e)
print("healthz", status, "ms", int((time.monotonic() - t0) * 1000))
# Each held socket must be closed by the server within timeout + 3 s.
t0 = time.monotonic()
closed = 0
for s in held:
    s.settimeout(max(0.1, timeout_s + 3 - (time.monotonic() - t0)))
    try:
        data = s.recv(4096)
        closed += 1  # EOF, or an error response before the close: either way it ended
    except ConnectionResetError:
        closed += 1
    except socket.timeout:
        pass
print("timed_out", closed, "s", round(time.monotonic() - t0, 1))
PY
cat "$IT_TMP/slow.txt"
expect_eq "the sixth connection from the slow address is closed" "$(awk '$1 == "sixth_closed" {print $2}' "$IT_TMP/slow.txt")" 1
expect_eq "/healthz answers 200 while every limit is held" "$(awk '$1 == "healthz" {print $2}' "$IT_TMP/slow.txt")" 200
check "/healthz within 2 s" test "$(awk '$1 == "healthz" {print $4}' "$IT_TMP/slow.txt")" -lt 2000
expect_eq "half-sent requests are closed by the inactivity timeout" "$(awk '$1 == "timed_out" {print $2}' "$IT_TMP/slow.txt")" 5
check "the held streams survived the timeout (keep-alives inside it)" test "$(metric live_streams)" -eq 7

# 4. Past-day streams read Postgres on open and then every 30 s, not every 500 ms: the
# seven streams have been open for over four seconds now (they would have made ~60 reads).
reads1=$(metric live_db_reads_total)
check "past-day streams read Postgres once each ($((reads1 - reads0)) reads)" test $((reads1 - reads0)) -le 7

# 5. A released slot goes to the next client: end one of k1's streams, the fourth is served.
kill "$pid_a1" 2>/dev/null
deadline=$((SECONDS + 30))
until [ "$(metric live_streams)" = 6 ]; do
  [ $SECONDS -ge $deadline ] && break
  sleep 0.1
done
expect_eq "a closed stream frees its slot" "$(metric live_streams)" 6
stream a4 "$k1" 127.0.0.14
check "the key's next stream is served" wait_totals a4
it_done
