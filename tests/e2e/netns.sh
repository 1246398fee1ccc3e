#!/usr/bin/env bash
# Network namespaces for the multi-host end-to-end test (tests/e2e/it_multihost.sh).
# Source it for the functions, or run it by hand:
#   tests/e2e/netns.sh up      # make the three "hosts" and their links
#   tests/e2e/netns.sh down    # kill everything running in them and remove them
#   tests/e2e/netns.sh status
#
# Three namespaces stand for three hosts. Each agent host has one point-to-point veth
# link to the core host, with a /30 of 10.231.0.0/24; nothing else:
#
#   fc-agent-a  fcmh-a  10.231.0.2/30 ---- 10.231.0.1/30  fcmh-ca  \
#                                                                   fc-core
#   fc-agent-b  fcmh-b  10.231.0.6/30 ---- 10.231.0.5/30  fcmh-cb  /
#
# The veth pairs are created directly inside the namespaces (never in the root one), no
# namespace has a default route, and nothing forwards between the two links, so traffic
# only flows between the core and each agent host. The agent hosts cannot reach each
# other, and nothing can reach the root namespace or anything outside.

MH_CORE=fc-core
MH_AGENT_A=fc-agent-a
MH_AGENT_B=fc-agent-b
MH_NAMESPACES="$MH_CORE $MH_AGENT_A $MH_AGENT_B"
MH_CORE_A=10.231.0.1 # core's side of host a's link
MH_HOST_A=10.231.0.2
MH_CORE_B=10.231.0.5 # core's side of host b's link
MH_HOST_B=10.231.0.6
MH_LINK_A=fcmh-a # host a's end of its link (cut it to isolate host a)
MH_LINK_B=fcmh-b

# grep decides on a here-string: under pipefail a `list | grep -q` pipeline fails when
# grep's early exit kills the producer with SIGPIPE (tests/integration/lib.sh).
mh_ns_exists() { grep -qE "^$1( |\$)" <<<"$(ip netns list 2>/dev/null)"; }

# Kills every process in our namespaces (they are ours: we created the namespaces) and
# removes them. Safe to call when some or none exist.
mh_down() {
  local ns pid pids deadline
  for ns in $MH_NAMESPACES; do
    mh_ns_exists "$ns" || continue
    pids=$(ip netns pids "$ns" 2>/dev/null)
    for pid in $pids; do kill -TERM "$pid" 2>/dev/null; done
    deadline=$((SECONDS + 5))
    while [ -n "$(ip netns pids "$ns" 2>/dev/null)" ] && [ $SECONDS -lt $deadline ]; do
      sleep 0.1
    done
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null || echo "netns: could not delete $ns" >&2
  done
}

# Creates the namespaces and links; prints why and returns 1 on failure.
mh_up() {
  local ns
  for ns in $MH_NAMESPACES; do
    if ! ip netns add "$ns"; then
      echo "netns: 'ip netns add $ns' failed: network namespaces are not permitted here" >&2
      return 1
    fi
    ip -n "$ns" link set lo up || return 1
  done
  if ! {
    ip link add fcmh-ca netns "$MH_CORE" type veth peer name "$MH_LINK_A" netns "$MH_AGENT_A" &&
      ip link add fcmh-cb netns "$MH_CORE" type veth peer name "$MH_LINK_B" netns "$MH_AGENT_B" &&
      ip -n "$MH_CORE" addr add "$MH_CORE_A/30" dev fcmh-ca &&
      ip -n "$MH_CORE" addr add "$MH_CORE_B/30" dev fcmh-cb &&
      ip -n "$MH_AGENT_A" addr add "$MH_HOST_A/30" dev "$MH_LINK_A" &&
      ip -n "$MH_AGENT_B" addr add "$MH_HOST_B/30" dev "$MH_LINK_B" &&
      ip -n "$MH_CORE" link set fcmh-ca up &&
      ip -n "$MH_CORE" link set fcmh-cb up &&
      ip -n "$MH_AGENT_A" link set "$MH_LINK_A" up &&
      ip -n "$MH_AGENT_B" link set "$MH_LINK_B" up
  }; then
    echo "netns: could not set up the veth links" >&2
    return 1
  fi
  # The core never forwards between the agent links (the default in a new namespace,
  # made explicit).
  ip netns exec "$MH_CORE" sysctl -q -w net.ipv4.ip_forward=0 >/dev/null 2>&1 || true
}

mh_status() {
  local ns
  for ns in $MH_NAMESPACES; do
    if mh_ns_exists "$ns"; then
      echo "== $ns (pids: $(ip netns pids "$ns" | tr '\n' ' '))"
      ip -n "$ns" -brief addr
    else
      echo "== $ns: absent"
    fi
  done
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -u
  case "${1:-status}" in
    up) mh_up ;;
    down) mh_down ;;
    status) mh_status ;;
    *)
      echo "usage: $0 up|down|status" >&2
      exit 2
      ;;
  esac
fi
