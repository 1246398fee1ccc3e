#!/usr/bin/env bash
# it_github: `fleetcost github` against a local server that answers like the GitHub
# REST API. A task naming acme/api#7 gets the issue's title, labels, type (type:bug) and
# priority (priority:high) after the worker honoured a rate-limit answer (it waited for
# the reset); a missing issue is settled with its reason; a task without a repository is
# left alone; a completed task's cost is commented on its issue once. Tenant a's
# allow-list (github allow) names the owner acme; the refusals are in
# tests/security/sec_github.sh.
#   it_github.sh <fleetcost binary> <source root>
fleetcost=${1:?usage: it_github.sh <fleetcost> <source root>}
. "$(dirname "$0")/lib.sh"
it_setup github
"$fleetcost" migrate --pg-url "$IT_URL" >/dev/null || it_die "migrate failed"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 "$(dirname "$0")/it_github_server.py" "$port" "$IT_TMP/github.log" tok &
server=$!
trap 'kill $server 2>/dev/null; it_cleanup' EXIT
deadline=$((SECONDS + 60))
until curl -s -o /dev/null "http://127.0.0.1:$port/"; do
  [ $SECONDS -ge $deadline ] && it_die "fake GitHub did not start"
  sleep 0.05
done

q "$IT_URL" "INSERT INTO tenants (tenant_id) VALUES ('a');
  INSERT INTO tasks (tenant_id, task_id, repo, issue, created_at, completed_at) VALUES
    ('a', 't1', 'acme/api', 7, now(), now()),
    ('a', 't2', 'acme/api', 404, now(), NULL),
    ('a', 't3', NULL, NULL, now(), NULL);
  INSERT INTO task_agents (tenant_id, task_id, agent_id, assigned_at) VALUES
    ('a', 't1', 'x1', now()), ('a', 't1', 'x2', now());
  INSERT INTO cost_summaries (tenant_id, day, dimension, key, cost_nusd, billed_nusd) VALUES
    ('a', current_date, 'task', 't1', 1234560000, 1234560000),
    ('a', current_date - 1, 'task', 't1', 5000000000, 5000000000)" \
  >/dev/null || it_die "seed failed"
"$fleetcost" github allow --pg-url "$IT_URL" --tenant a --repo ACME --actor it >/dev/null ||
  it_die "github allow failed"
expect_eq "the allow-list change is audited" \
  "$(q "$IT_URL" "SELECT actor, action, object, after->>'repo' FROM audit_log WHERE action LIKE 'github.%'")" "it|github.allow|a|acme"

gh() { "$fleetcost" github --pg-url "$IT_URL" --api-url "http://127.0.0.1:$port" --token tok --once "$@"; }
check "a pass with comments" gh --comment
expect_eq "title from the issue" "$(q "$IT_URL" "SELECT title FROM tasks WHERE task_id='t1'")" 'Fix the flaky "login" test'
expect_eq "labels" "$(q "$IT_URL" "SELECT labels::text FROM tasks WHERE task_id='t1'")" '{type:bug,priority:high,area:ci}'
expect_eq "type and priority from labels" "$(q "$IT_URL" "SELECT task_type || ' ' || priority FROM tasks WHERE task_id='t1'")" "bug high"
expect_eq "a missing issue is settled with its reason" "$(q "$IT_URL" "SELECT gh_error || ' ' || (gh_synced_at IS NOT NULL) FROM tasks WHERE task_id='t2'")" "GitHub answered 404 true"
expect_eq "a task without a repository is left alone" "$(q "$IT_URL" "SELECT coalesce(title,'-') || (gh_synced_at IS NULL) FROM tasks WHERE task_id='t3'")" "-true"
# The rate limit: the retry of issue 7 came after the reset time the server announced.
limited=$(awk '/^limited until/ {print $3}' "$IT_TMP/github.log")
retry=$(awk '$3 == "/repos/acme/api/issues/7" {t = $1} END {print t}' "$IT_TMP/github.log")
check "the worker waited for the rate-limit reset ($retry >= $limited)" \
  python3 -c "import sys; sys.exit(0 if float('$retry') >= float('$limited') else 1)"
api_log=$(grep -v ' GET / ' "$IT_TMP/github.log")
check "every API request carried the token" bash -c '! grep -q "auth=False" <<<"$1"' _ "$api_log"
# The comment: 1.23456 + 5.00 USD from the task's daily rollups = $6.23 to the cent;
# two agents worked on it.
expect_eq "one comment" "$(grep -c '^COMMENT /repos/acme/api/issues/7/comments' "$IT_TMP/github.log")" 1
check "the comment names the cost" grep -q 'this task cost \$6.23 of AI agent time (2 agents)' "$IT_TMP/github.log"
check "a second pass" gh --comment
expect_eq "still one comment" "$(grep -c '^COMMENT' "$IT_TMP/github.log")" 1
expect_eq "issue 7 not fetched again once attributed (403 + 200 only)" "$(grep -c 'GET /repos/acme/api/issues/7 ' "$IT_TMP/github.log")" 2
it_done
