#!/usr/bin/env bash
# it_rls: a reader (FLEETCOST_PG_READER_URL, a member of fleetcost_reader that owns
# nothing) scoped to tenant a sees none of tenant b's rows in any tenant table or view;
# unscoped it sees nothing; with '*' it sees everything; it cannot write, cannot read
# api_keys (only look a key up through fc_api_key_lookup), and cannot bypass the policies
# through a partition.
#   it_rls.sh <fleetcost binary> <source root>
fleetcost=${1:?usage: it_rls.sh <fleetcost> <source root>}
. "$(dirname "$0")/lib.sh"
it_setup rls

"$fleetcost" migrate --pg-url "$IT_URL" >/dev/null || it_die "migrate failed"

# As the owner (which bypasses RLS, as ingest and the aggregator do): two tenants with
# rows in every tenant table.
q "$IT_URL" - <<'SQL' || it_die "seeding failed"
INSERT INTO tenants (tenant_id, name, tz) VALUES ('a', 'Tenant A', 'Europe/Paris'),
                                                 ('b', 'Tenant B', 'America/New_York');
INSERT INTO events (event_id, event_time, tenant_id, event_type, agent_id, agent_type, task_id,
                    model, model_family, input_tokens, output_tokens, cost_nusd, cost_kind,
                    price_version, api_duration_ms, memory_mb, cpu_percent, ingest_id, seq)
SELECT gen_random_uuid(), now() - (i || ' minutes')::interval, t, 'usage', t || '-agent',
       'coder', t || '-task', 'claude-sonnet-4-5', 'claude-sonnet-4-5', 1000, 100, 4500000,
       'usage', 9, 1200, 300, 12.5, 'ingest-1', i + CASE t WHEN 'a' THEN 0 ELSE 1000 END
  FROM unnest(ARRAY['a', 'b']) t, generate_series(1, 5) i;
INSERT INTO events (event_id, event_time, tenant_id, event_type, agent_id, cost_nusd, cost_kind,
                    ingest_id, seq)
SELECT gen_random_uuid(), now(), t, 'cost', t || '-agent', 7000000, 'runtime', 'ingest-1',
       CASE t WHEN 'a' THEN 100 ELSE 1100 END
  FROM unnest(ARRAY['a', 'b']) t;
INSERT INTO events (event_id, event_time, tenant_id, event_type, agent_id, ingest_id, seq)
SELECT gen_random_uuid(), now(), t, 'agent.spawn', t || '-agent', 'ingest-1',
       CASE t WHEN 'a' THEN 200 ELSE 1200 END
  FROM unnest(ARRAY['a', 'b']) t;
INSERT INTO agents (tenant_id, agent_id, agent_type, host, spawned_at)
SELECT t, t || '-agent', 'coder', 'host-' || t, now() FROM unnest(ARRAY['a', 'b']) t;
INSERT INTO tasks (tenant_id, task_id, title, labels)
SELECT t, t || '-task', 'task of ' || t, ARRAY['x'] FROM unnest(ARRAY['a', 'b']) t;
INSERT INTO task_agents (tenant_id, task_id, agent_id, assigned_at)
SELECT t, t || '-task', t || '-agent', now() FROM unnest(ARRAY['a', 'b']) t;
INSERT INTO cost_summaries (tenant_id, day, dimension, key, cost_nusd, billed_nusd, events)
SELECT t, current_date, d, CASE d WHEN 'total' THEN '' ELSE 'k' END, 29500000, 29500000, 6
  FROM unnest(ARRAY['a', 'b']) t, unnest(ARRAY['total', 'agent_type']) d;
INSERT INTO cost_alerts (tenant_id, kind, scope, period_key, threshold_pct, value_nusd, budget_nusd, text)
SELECT t, 'threshold', 'day', to_char(current_date, 'YYYY-MM-DD'), 50, 6, 10, 'half spent'
  FROM unnest(ARRAY['a', 'b']) t;
INSERT INTO budgets (tenant_id, scope, amount_nusd) VALUES ('a', 'daily', 1000000000),
                                                           ('b', 'daily', 2000000000),
                                                           ('*', 'monthly', 9000000000);
INSERT INTO restatements (tenant_id, from_ts, to_ts, old_cost_nusd, new_cost_nusd, events)
SELECT t, now() - interval '1 day', now(), 1, 2, 3 FROM unnest(ARRAY['a', 'b']) t;
INSERT INTO dead_letters (tenant_id, ingest_id, code, reason, raw)
VALUES ('a', 'ingest-1', 'E_RANGE', 'negative tokens', '\x00'),
       ('b', 'ingest-1', 'E_RANGE', 'negative tokens', '\x01'),
       (NULL, 'ingest-1', 'E_AUTH', 'no tenant', '\x02');
INSERT INTO api_keys (key_id, tenant_id, key_hash, name)
VALUES ('fk_a', 'a', repeat('ab', 32), 'a key'), ('fk_admin', NULL, repeat('cd', 32), 'admin');
INSERT INTO audit_log (actor, action, object) VALUES ('test', 'budget.set', 'a/daily');
SQL

# reader <tenant or empty> <sql>: runs sql as the reader in one transaction, with the
# tenant set for that transaction only (SET LOCAL) unless empty.
reader() {
  local setting=""
  [ -n "$1" ] && setting="SET LOCAL fleetcost.tenant = '$1';"
  q "$IT_READER_URL" "BEGIN; $setting $2; COMMIT;"
}

expect_eq "reader connects as a role that is not the owner" \
  "$(q "$IT_READER_URL" "SELECT current_user <> (SELECT tableowner FROM pg_tables WHERE tablename = 'events')
                          AND pg_has_role(current_user, 'fleetcost_reader', 'MEMBER')")" t

tenant_tables="tenants events agents tasks task_agents agent_metrics cost_entries cost_summaries
               cost_alerts budgets restatements dead_letters"
for t in $tenant_tables; do
  owner_b=$(q "$IT_URL" "SELECT count(*) FROM $t WHERE tenant_id = 'b'")
  check "$t: the owner sees tenant b rows (so the checks below mean something)" test "$owner_b" -gt 0
  expect_eq "$t: reader as a sees none of b's rows" \
    "$(reader a "SELECT count(*) FROM $t WHERE tenant_id = 'b'")" 0
  expect_eq "$t: reader as a sees only a's rows (and default '*' budgets)" \
    "$(reader a "SELECT count(*) FROM $t WHERE tenant_id IS DISTINCT FROM 'a' AND tenant_id <> '*'")" 0
  check "$t: reader as a sees a's rows" test "$(reader a "SELECT count(*) FROM $t")" -gt 0
  expect_eq "$t: reader as b sees none of a's rows" \
    "$(reader b "SELECT count(*) FROM $t WHERE tenant_id = 'a'")" 0
  expect_eq "$t: reader without a tenant sees nothing" "$(reader "" "SELECT count(*) FROM $t")" 0
  expect_eq "$t: reader with '*' sees every row" \
    "$(reader '*' "SELECT count(*) FROM $t")" "$(q "$IT_URL" "SELECT count(*) FROM $t")"
done
expect_eq "a's summed cost through the view is a's alone" \
  "$(reader a "SELECT sum(cost_nusd) FROM cost_entries")" 29500000
expect_eq "the tenant setting does not outlive its transaction" \
  "$(q "$IT_READER_URL" "BEGIN; SELECT set_config('fleetcost.tenant', 'b', true); COMMIT; SELECT count(*) FROM events" | tail -n 1)" 0
expect_eq "audit_log: tenant readers see nothing" "$(reader a "SELECT count(*) FROM audit_log")" 0
expect_eq "audit_log: admin reader ('*') sees it" "$(reader '*' "SELECT count(*) FROM audit_log")" 1
expect_eq "price_versions are readable (public prices)" \
  "$(reader a "SELECT count(*) > 0 FROM price_versions")" t

# Writes are refused whatever the tenant setting.
expect_fail "reader cannot INSERT" "permission denied" \
  reader a "INSERT INTO tenants (tenant_id) VALUES ('c')"
expect_fail "reader cannot INSERT events" "permission denied" \
  reader a "INSERT INTO events (event_id, event_time, tenant_id, event_type, ingest_id, seq)
            VALUES (gen_random_uuid(), now(), 'a', 'usage', 'x', 1)"
expect_fail "reader cannot UPDATE" "permission denied" reader a "UPDATE budgets SET amount_nusd = 0"
expect_fail "reader cannot DELETE" "permission denied" reader '*' "DELETE FROM cost_summaries"
expect_fail "reader cannot TRUNCATE" "permission denied" reader '*' "TRUNCATE agents"
expect_fail "reader cannot read api_keys" "permission denied" reader '*' "SELECT key_hash FROM api_keys"
expect_fail "reader cannot read a partition directly" "permission denied" \
  reader a "SELECT count(*) FROM events_$(it_day 0)"
expect_fail "reader cannot create partitions" "permission denied" \
  reader a "SELECT fc_ensure_event_partitions(current_date, current_date)"
expect_fail "reader cannot turn policies off" "must be owner" \
  reader a "ALTER TABLE events DISABLE ROW LEVEL SECURITY"
expect_eq "reader verifies a key through fc_api_key_lookup" \
  "$(reader "" "SELECT tenant_id, key_hash = repeat('ab', 32), revoked FROM fc_api_key_lookup('fk_a')")" "a|t|f"
expect_eq "admin key looks up with a NULL tenant" \
  "$(reader "" "SELECT tenant_id IS NULL FROM fc_api_key_lookup('fk_admin')")" t
expect_eq "unknown key: no row" "$(reader "" "SELECT count(*) FROM fc_api_key_lookup('nope')")" 0
q "$IT_URL" "UPDATE api_keys SET revoked_at = now() WHERE key_id = 'fk_a'"
expect_eq "revoked key reported as revoked" \
  "$(reader "" "SELECT revoked FROM fc_api_key_lookup('fk_a')")" t

it_done
