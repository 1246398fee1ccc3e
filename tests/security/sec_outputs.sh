#!/usr/bin/env bash
# sec_outputs: hostile tenant text through every way out, and secrets kept out of logs
# (docs/SECURITY.md, "Ways out" and "What is logged").
#
# A tenant's data is seeded straight into a fresh database as the owner: an agent id
# `<!channel> <https://evil|click>`, a model name with `ESC [2J`, task titles starting
# with `=HYPERLINK(`, TAB and CR, and an alert whose text, subject and period carry the
# same plus a CR/LF header injection. Then, with real services and commands:
#  - the alerter's Slack-compatible webhook body (caught by a local receiver) holds the
#    text escaped for Slack (&lt;!channel&gt;) and never the raw mention or link;
#  - its e-mail (caught by a local SMTP sink) has one Subject line, no injected header
#    and no ESC byte;
#  - `fleetcost report --format text`, `fleetcost alerts` and `fleetcost budget list`
#    print no ESC (nor any other control but newline);
#  - CSV cells starting with = + - @ TAB CR are guarded; HTML is escaped and well formed;
#  - agent types `=1+2`, TAB, CR and `@SUM(A1)` as CSV cells are guarded;
#  - the start-up logs of the alerter and the reporter, given a Postgres URL with a
#    password, a webhook URL, a Redis password, show none of those secrets.
#   sec_outputs.sh <fleetcost> <fleetcost-alerter> <fleetcost-reporter> <source root>
fleetcost=${1:?usage: sec_outputs.sh <fleetcost> <fleetcost-alerter> <fleetcost-reporter> <source root>}
alerter=${2:?}
reporter=${3:?}
root=${4:?}
. "$root/tests/integration/lib.sh"
it_setup sec_outputs

"$fleetcost" migrate --pg-url "$IT_URL" >/dev/null || it_die "migrate failed"

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_for() { # wait_for <seconds> <command...>: polls every 50 ms until it succeeds
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    [ $SECONDS -ge $deadline ] && return 1
    sleep 0.05
  done
}
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; it_cleanup' EXIT

hook_port=$(free_port)
smtp_port=$(free_port)
today=$(date -u +%F)
mkdir -p "$IT_TMP/mail"

q "$IT_URL" - >/dev/null <<SQL || it_die "seeding failed"
SELECT fc_ensure_event_partitions(current_date - 2, current_date + 2);
INSERT INTO tenants (tenant_id, name, webhook_url, email) VALUES
  ('evil', E'Evil \x1b]0;pwned\x07 Corp', 'http://127.0.0.1:$hook_port/services/T0/B0/tenantsecret',
   'ops@evil.example');
INSERT INTO events (event_id, event_time, tenant_id, event_type, agent_id, agent_type, task_id,
                    model, model_family, input_tokens, output_tokens, cost_nusd, cost_kind,
                    ingest_id, seq)
SELECT gen_random_uuid(), now() - interval '5 minutes', 'evil', 'usage',
       '<!channel> <https://evil|click>', (ARRAY['=1+2', E'\t=3', E'\r=4', '@SUM(A1)'])[i + 1],
       'task-' || i,
       E'm\x1b[2Jodel', E'm\x1b[2Jodel', 1000, 100, 1000000 * (i + 1), 'usage', 'sec', i
  FROM generate_series(0, 3) i;
INSERT INTO tasks (tenant_id, task_id, title) VALUES
  ('evil', 'task-0', '=HYPERLINK("https://evil.example","x")'),
  ('evil', 'task-1', E'\t=1+2'),
  ('evil', 'task-2', E'\r=1+2'),
  ('evil', 'task-3', E'@SUM(A1) \x1b[31mred');
INSERT INTO budgets (tenant_id, scope, subject, amount_nusd) VALUES
  ('evil', 'agent_type_daily', E'ty\x1b[2Jpe', 1000000000);
INSERT INTO cost_alerts (tenant_id, kind, scope, period_key, subject, threshold_pct, value_nusd,
                         budget_nusd, text)
VALUES ('evil', 'runaway', 'agent', E'$today\r\nBcc: victim@example.org', '<!channel> <https://evil|click>',
        100, 5000000000, 1000000000,
        E'agent <!channel> <https://evil|click> on m\x1b[2Jodel spent \$5.00 & more');
SQL

# ---------------------------------------------------------------------------------------
# The alerter: webhook and e-mail, and its start-up log

python3 "$root/tests/soak/webhook.py" "$hook_port" "$IT_TMP/hooks.jsonl" 2>"$IT_TMP/webhook.log" &
pids+=($!)
/usr/bin/python3 "$root/tests/integration/it_alerter_smtp.py" "$smtp_port" "$IT_TMP/mail" 2>"$IT_TMP/smtp.log" &
pids+=($!)
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_for 15 port_open "$hook_port" || it_die "webhook receiver did not start: $(cat "$IT_TMP/webhook.log")"
wait_for 15 port_open "$smtp_port" || it_die "SMTP sink did not start: $(cat "$IT_TMP/smtp.log")"

"$alerter" --insecure \
  --pg-url "$IT_URL?password=pgsecret1&sslmode=disable" \
  --redis-url "redis://:redissecret1@127.0.0.1:1/0" \
  --aggregator-pub "tcp://127.0.0.1:$(free_port)" --bind "tcp://127.0.0.1:$(free_port)" \
  --smtp-url "smtp://127.0.0.1:$smtp_port" \
  --operator-webhook "http://127.0.0.1:$hook_port/services/T1/B1/operatorsecret" \
  --metrics-port 0 2>"$IT_TMP/alerter.log" &
pids+=($!)

delivered() { [ "$(q "$IT_URL" "SELECT delivery_status FROM cost_alerts WHERE subject LIKE '<!channel>%'")" = delivered ]; }
check "the hostile alert is delivered (webhook x2, e-mail)" wait_for 30 delivered
hook_line() { grep -m1 -F '"subject":"\u003c!channel\u003e' "$IT_TMP/hooks.jsonl"; }
body=$(hook_line)
text=$(jq -r '.text' <<<"$body")
check "webhook: a body arrived" test -n "$body"
check "webhook: Slack text has the mention escaped" grep -qF -- '&lt;!channel&gt; &lt;https://evil|click&gt;' <<<"$text"
check "webhook: Slack text has & escaped" grep -qF -- '&amp; more' <<<"$text"
check "webhook: no raw <!channel> in the text" bash -c '! grep -qF -- "<!channel>" <<<"$1"' _ "$text"
check "webhook: no raw <https://evil|click> in the text" bash -c '! grep -qF -- "<https://evil" <<<"$1"' _ "$text"
check "webhook: no ESC in the text" bash -c '! grep -q $'"'"'\x1b'"'"' <<<"$1"' _ "$text"
check "webhook: the ESC is shown as \\x1b" grep -qF -- 'm\x1b[2Jodel' <<<"$text"
# The structured fields carry the value as it is (for programs, JSON-escaped).
expect_eq "webhook: alert.subject is the raw value" "$(jq -r '.alert.subject' <<<"$body")" '<!channel> <https://evil|click>'
check "webhook: raw JSON has no literal < (\\u003c instead)" bash -c '! grep -qF -- "<" <<<"$1"' _ "$body"

mail_done() { ls "$IT_TMP/mail"/*.eml >/dev/null 2>&1; }
check "e-mail: a message arrived" wait_for 10 mail_done
emls=("$IT_TMP/mail"/*.eml)
eml=${emls[0]}
[ -f "$eml" ] || eml=
if [ -n "$eml" ]; then
  headers=$(sed -n '1,/^\r\{0,1\}$/p' "$eml")
  expect_eq "e-mail: exactly one Subject header" "$(grep -c '^Subject:' <<<"$headers")" 1
  check "e-mail: no injected Bcc header" bash -c '! grep -qi "^Bcc:" <<<"$1"' _ "$headers"
  check "e-mail: the CR/LF of the period shows escaped in the subject" grep -qF -- '\x0d\x0aBcc: victim' <<<"$headers"
  check "e-mail: no ESC byte anywhere" bash -c '! grep -q $'"'"'\x1b'"'"' "$1"' _ "$eml"
  check "e-mail: the body names the model with ESC escaped" grep -qF -- 'm\x1b[2Jodel' "$eml"
fi

alog=$(cat "$IT_TMP/alerter.log")
check "alerter log: the config line is there" grep -q 'config: ' <<<"$alog"
for secret in pgsecret1 redissecret1 operatorsecret tenantsecret; do
  check "alerter log: no $secret" bash -c '! grep -qF -- "$1" <<<"$2"' _ "$secret" "$alog"
done
check "alerter log: the operator webhook's path is masked" grep -qF -- "operator-webhook=http://127.0.0.1:$hook_port/***" <<<"$alog"
check "alerter log: the pg-url password is masked" grep -qF -- 'password=***' <<<"$alog"

# ---------------------------------------------------------------------------------------
# Terminal output: report --format text, alerts, budget list

no_controls() { # no byte of C0 but newline, no DEL, no C1 (UTF-8 \xc2\x80-\x9f)
  LC_ALL=C grep -qP '[\x00-\x09\x0b-\x1f\x7f]|\xc2[\x80-\x9f]' "$1" && return 1
  return 0
}
rep() { "$fleetcost" report --pg-url "$IT_URL" --tenant evil --period daily --date "$today" "$@"; }
rep --format text -o "$IT_TMP/r.txt" 2>"$IT_TMP/err" || it_die "report text: $(cat "$IT_TMP/err")"
check "report text: no control character" no_controls "$IT_TMP/r.txt"
check "report text: the model is shown with ESC escaped" grep -qF -- 'm\x1b[2Jodel' "$IT_TMP/r.txt"
check "report text: the tenant name's OSC is escaped" grep -qF -- 'Evil \x1b]0;pwned\x07 Corp' "$IT_TMP/r.txt"
check "report text: the tab title is escaped" grep -qF -- '\x09=1+2' "$IT_TMP/r.txt"

"$fleetcost" alerts --pg-url "$IT_URL" --tenant evil >"$IT_TMP/alerts.txt" 2>"$IT_TMP/err" || it_die "alerts: $(cat "$IT_TMP/err")"
check "alerts: the hostile alert is listed" grep -qF -- '<!channel>' "$IT_TMP/alerts.txt"
check "alerts: no control character" no_controls "$IT_TMP/alerts.txt"
check "alerts: the CR/LF of the period is escaped" grep -qF -- '\x0d\x0aBcc:' "$IT_TMP/alerts.txt"

"$fleetcost" budget list --pg-url "$IT_URL" --tenant evil >"$IT_TMP/budget.txt" 2>"$IT_TMP/err" || it_die "budget list: $(cat "$IT_TMP/err")"
check "budget list: no control character" no_controls "$IT_TMP/budget.txt"
check "budget list: the subject is shown escaped" grep -qF -- 'ty\x1b[2Jpe' "$IT_TMP/budget.txt"

# ---------------------------------------------------------------------------------------
# CSV and HTML

rep --format csv -o "$IT_TMP/r.csv" 2>"$IT_TMP/err" || it_die "report csv: $(cat "$IT_TMP/err")"
check "CSV: every cell starting with = + - @ TAB CR is guarded" python3 - "$IT_TMP/r.csv" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline='')))
bad = [c for r in rows for c in r if c[:1] in ('=', '+', '-', '@', '\t', '\r')]
assert not bad, bad
types = sorted(r[1] for r in rows if r and r[0] == 'agent_type')
assert types == ["'\t=3", "'\r=4", "'=1+2", "'@SUM(A1)"], types
subjects = [r[2] for r in rows if r and r[0] == 'alert']
assert subjects == ['<!channel> <https://evil|click>'], subjects
PY
check "CSV: the model cell keeps its text" grep -qF -- $'m\x1b[2Jodel' "$IT_TMP/r.csv"

rep --format html -o "$IT_TMP/r.html" 2>"$IT_TMP/err" || it_die "report html: $(cat "$IT_TMP/err")"
check "HTML: the agent id is escaped" grep -qF -- '&lt;!channel&gt; &lt;https://evil|click&gt;' "$IT_TMP/r.html"
check "HTML: no raw <!channel>" bash -c '! grep -qF -- "<!channel>" "$1"' _ "$IT_TMP/r.html"
check "HTML: the title is text" grep -qF -- '=HYPERLINK(&quot;https://evil.example&quot;,&quot;x&quot;)' "$IT_TMP/r.html"
check "HTML: no ESC byte" bash -c '! grep -q $'"'"'\x1b'"'"' "$1"' _ "$IT_TMP/r.html"
check "HTML: well-formed" python3 - "$IT_TMP/r.html" <<'PY'
import sys, xml.etree.ElementTree as ET
text = open(sys.argv[1], encoding='utf-8').read()
ET.fromstring(text.split('\n', 1)[1])
PY

# ---------------------------------------------------------------------------------------
# The reporter's start-up log with a password in its reader URL

rport=$(free_port)
"$reporter" --insecure --aggregator-pub "" --http-port "$rport" \
  --pg-reader-url "$IT_READER_URL?password=readersecret1" \
  --redis-url "redis://:redissecret2@127.0.0.1:1/0" 2>"$IT_TMP/reporter.log" &
pids+=($!)
check "reporter starts" wait_for 10 curl -sf "http://127.0.0.1:$rport/healthz" -o /dev/null
rlog=$(cat "$IT_TMP/reporter.log")
check "reporter log: the config line is there" grep -q 'config: ' <<<"$rlog"
check "reporter log: no reader password" bash -c '! grep -qF -- readersecret1 <<<"$1"' _ "$rlog"
check "reporter log: no redis password" bash -c '! grep -qF -- redissecret2 <<<"$1"' _ "$rlog"

it_done
