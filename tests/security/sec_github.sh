#!/usr/bin/env bash
# sec_github: `fleetcost github` fetches (and comments on) only repositories on the
# task's tenant's allow-list, whatever repo/issue the tenant's events named. Against the
# local stand-in for GitHub (tests/integration/it_github_server.py, which logs every
# request and which token it carried):
#   - tenant a allows acme/api only: its tasks naming secret/private (completed, so
#     --comment would post there) and acme/web are never requested, are recorded as
#     skipped and counted in the summary line; acme/api is fetched with --token;
#   - tenant b allows the owner Acme (any case) and has its own token: its acme/web task
#     is fetched with b's token, not --token; the token is never printed or audited;
#   - after `github disallow`, a new task of a for acme/api is not served, not even from
#     the worker's cache.
#   sec_github.sh <fleetcost>
fleetcost=${1:?usage: sec_github.sh <fleetcost>}
. "$(dirname "$0")/common.sh"
it_setup sec_github
"$fleetcost" migrate --pg-url "$IT_URL" >/dev/null || it_die "migrate failed"
port=$(free_ports 1)
python3 "$(dirname "$0")/../integration/it_github_server.py" "$port" "$IT_TMP/github.log" tok,tokb &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; it_cleanup' EXIT
up() { curl -s -o /dev/null "http://127.0.0.1:$port/"; }
until_ok 10 up || it_die "fake GitHub did not start"

for t in a b; do
  "$fleetcost" tenant set --pg-url "$IT_URL" --tenant "$t" --actor sec >/dev/null || it_die "tenant set $t"
done
q "$IT_URL" "INSERT INTO tasks (tenant_id, task_id, repo, issue, created_at, completed_at) VALUES
    ('a', 't1', 'acme/api', 7, now(), NULL),
    ('a', 't2', 'secret/private', 1, now(), now()),
    ('a', 't3', 'acme/web', 3, now(), NULL),
    ('b', 't4', 'acme/web', 3, now(), NULL)" >/dev/null || it_die "seed failed"
gh() { "$fleetcost" github "$@" --pg-url "$IT_URL" --actor sec; }
check "github allow a acme/api" gh allow --tenant a --repo acme/api
check "github allow b Acme (an owner: all its repositories)" gh allow --tenant b --repo Acme
expect_fail "a repository that is not OWNER[/NAME] is refused" "OWNER" gh allow --tenant a --repo 'acme/api/x'
expect_fail "an unknown tenant is refused" "violates foreign key" gh allow --tenant nobody --repo acme
printf 'tokb\n' | gh token --tenant b >/dev/null
token_rc=${PIPESTATUS[1]}
expect_eq "github token b (from stdin)" "$token_rc" 0
listing=$(gh list)
check "github list shows b has a token" grep -Eq -- '^b +yes +acme$' <<<"$listing"
check "... and never the token" bash -c '! grep -q tokb <<<"$1"' _ "$listing"
expect_eq "allow and token changes are audited, without the token" \
  "$(q "$IT_URL" "SELECT string_agg(action || ':' || object || ':' || coalesce(after::text, ''), ' ' ORDER BY id) FROM audit_log WHERE action LIKE 'github.%'")" \
  'github.allow:a:{"repo": "acme/api"} github.allow:b:{"repo": "acme"} github.token.set:b:'
check "no audit row holds the token" bash -c "! psql -XAtc 'SELECT * FROM audit_log' '$IT_URL' | grep -q tokb"

"$fleetcost" github --pg-url "$IT_URL" --api-url "http://127.0.0.1:$port" --token tok --once --comment \
  2>"$IT_TMP/worker.log"
expect_eq "the worker pass exits 0" $? 0
requests() { grep -c -- "$1" "$IT_TMP/github.log" || true; }
expect_eq "secret/private (not on a's list) was never requested, GET or comment" "$(requests '/repos/secret/')" 0
expect_eq "acme/web was requested once, for b, with b's token" \
  "$(grep -- ' /repos/acme/web/issues/3 ' "$IT_TMP/github.log" | awk '{print $4, $5}')" "auth=True tok=1"
check "acme/api (on a's list) was fetched with --token" grep -q -- 'GET /repos/acme/api/issues/7 auth=True tok=0' "$IT_TMP/github.log"
expect_eq "a's refused tasks are recorded as skipped, not attributed" \
  "$(q "$IT_URL" "SELECT string_agg(task_id || ':' || gh_error || ':' || (gh_synced_at IS NULL), ' ' ORDER BY task_id) FROM tasks WHERE tenant_id = 'a' AND gh_error IS NOT NULL")" \
  "t2:repository not on the tenant's GitHub allow-list:true t3:repository not on the tenant's GitHub allow-list:true"
check "the pass summary counts them" grep -q -- "2 lookups skipped (repository not on the tenant's allow-list)" "$IT_TMP/worker.log"
check "each is logged with its tenant" grep -q -- "tenant a: secret/private is not on its GitHub allow-list; not fetched" "$IT_TMP/worker.log"
check "the worker log never prints b's token" bash -c "! grep -q tokb '$IT_TMP/worker.log'"
expect_eq "t1 attributed from acme/api" "$(q "$IT_URL" "SELECT title FROM tasks WHERE task_id = 't1'")" 'Fix the flaky "login" test'

check "github disallow a acme/api" gh disallow --tenant a --repo acme/api
q "$IT_URL" "INSERT INTO tasks (tenant_id, task_id, repo, issue, created_at) VALUES ('a', 't5', 'acme/api', 7, now())" >/dev/null
before=$(requests '/repos/acme/api/')
"$fleetcost" github --pg-url "$IT_URL" --api-url "http://127.0.0.1:$port" --token tok --once 2>"$IT_TMP/worker2.log"
expect_eq "after disallow, a's new acme/api task is not requested" "$(requests '/repos/acme/api/')" "$before"
expect_eq "... nor attributed from an earlier answer" \
  "$(q "$IT_URL" "SELECT coalesce(title, '-') || ' ' || gh_error FROM tasks WHERE task_id = 't5'")" \
  "- repository not on the tenant's GitHub allow-list"
it_done
